// Job files (SPEC §2): lkp-tests' job format, read as lkp reads it — text
// includes and templates, YAML 1.1, document 0 a job of its own and
// documents 1..N each merged over it the lkp way, command-line layers,
// matrix expansion where lkp expands — then the fields stacklab reads
// checked with file:line:col for every problem. Nothing is returned if any
// job is invalid; near misses come back as warnings.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkJob, type CheckOptions } from './checks.ts';
import { JobFileError, issueAt, type JobFileIssue } from './errors.ts';
import { expand } from './expand.ts';
import { fromJson, locateIn, type LMap, type LNode, type SourcePos } from './located.ts';
import { parseFile, shownName, type LoadContext } from './load.ts';
import { readLkpTree, type LkpTree } from './lkp-tree.ts';
import { revise } from './merge.ts';
import { jobName } from './name.ts';
import { overridesMap, parseOverrides, readLayer, type Layer } from './overrides.ts';
import { toJson } from './plain.ts';

export { JobFileError, formatIssue, type JobFileIssue } from './errors.ts';
export type { SourcePos } from './located.ts';
export { JobFileSchema, JobSchema, type JobSpec } from './schema.ts';
export { clusterRefusal, memoryNeed, runtimeSeconds, durationSeconds, sizeBytes, type MemoryNeed } from './units.ts';
export { suiteEnvironment, shellValue, RESERVED_ENV, type SuiteEnvironment } from './env.ts';
export { jobName, pathParams } from './name.ts';
export { jobYaml } from './emit.ts';
export { readLkpTree, type LkpTree } from './lkp-tree.ts';
export type { Layer } from './overrides.ts';

export interface LoadedJobs {
  jobs: Record<string, unknown>[];
  /** Things lkp accepts that are probably slips (`runtim:`, `ss.linux.comit`, a key written twice); errors under strict. */
  warnings: JobFileIssue[];
  /** The file name lkp's split-job gives each job. */
  names: string[];
  /** Where field `path` of job `index` was written (or its nearest written ancestor). */
  locate(index: number, path: (string | number)[]): SourcePos;
  /** The file is the job.yaml of this job's result root: submitting it again is a rerun (its id and result_root left out). */
  rerunOf?: number;
}

/**
 * A result root's job.yaml (what the scheduler writes for a job that ran)
 * names the job's `id` and `result_root`, which a job may not set, and the
 * `my_account` it ran as. Submitted again it is a rerun, as compass-ci
 * reproduces a test from its job.yaml: the three are left out of the first
 * document (the rerun is whoever submits it, with their own defaults) and
 * the job they named is returned. Any other document with id or
 * result_root keeps them, and is refused.
 */
function takeRerun(doc: LNode | undefined): number | undefined {
  if (doc?.kind !== 'map') return undefined;
  const id = doc.entries.get('id')?.value;
  const root = doc.entries.get('result_root')?.value;
  if (id?.kind !== 'scalar' || root?.kind !== 'scalar') return undefined;
  if (typeof id.value !== 'number' || !Number.isSafeInteger(id.value) || id.value < 1) return undefined;
  if (typeof root.value !== 'string' || !root.value.startsWith('/result/') || !root.value.endsWith(`/${id.value}`)) return undefined;
  for (const k of ['id', 'result_root', 'my_account']) doc.entries.delete(k);
  return id.value;
}

/**
 * What to say of a build job's job.yaml submitted again: a build is not a
 * job anyone submits; the lab makes it for the jobs that need it.
 */
function buildJobRerun(id: number, spec: LNode): string {
  const field = (k: string): string | undefined => {
    const v = spec.kind === 'map' ? spec.entries.get(k)?.value : undefined;
    return v?.kind === 'scalar' && typeof v.value === 'string' ? v.value : undefined;
  };
  const [pkg, commit, key] = [field('pkg'), field('commit'), field('build_key')];
  const what = pkg && commit ? `${pkg} at ${commit.slice(0, 12)}` : 'a package';
  return (
    `this is the job.yaml of job ${id}, the job that made build ${key ? key.slice(0, 12) : '?'} (${what}): a build is not submitted, the lab makes it for the jobs that need it. ` +
    `Submit the job that used it (its own job.yaml reruns it, reusing this build); ${key ? `stacklab builds ${key.slice(0, 12)}` : 'stacklab builds'} shows the build and its log`
  );
}

export interface LoadOptions {
  /** Includes must stay inside this directory or the search path (loadJobText refuses includes without it). */
  includeRoot?: string;
  /** Directories searched for `<<:` includes after the file's own (the lab's job directories, an lkp tree's jobs/). */
  searchPath?: string[];
  /** An lkp-tests tree: its programs' options decide which lists expand and how split names jobs; it is searched for includes. */
  lkpSrc?: string;
  /** Warnings are errors. */
  strict?: boolean;
  /** A job without suite is an error (the default: submit), or a warning (split). */
  requireSuite?: boolean;
  /** Under every document, lowest first (defaults files, `-i` before the file, key=value before it): a key the job has keeps its value. */
  defaults?: Layer[];
  /** Over every document, in order, before the key=value overrides (`-i` after the file, `-s`). */
  overlays?: Layer[];
}

function layersMap(layers: Layer[], issues: JobFileIssue[], searchPath: string[]): LMap | undefined {
  let out: LMap | undefined;
  for (const l of layers) {
    const m = readLayer(l, issues, searchPath);
    if (!m) continue;
    if (!out) out = m;
    else for (const [k, e] of m.entries) out.entries.set(k, e);
  }
  return out;
}

function searchOf(opts: LoadOptions): string[] {
  return [...(opts.searchPath ?? []), ...(opts.lkpSrc ? [resolve(opts.lkpSrc)] : [])];
}

function dedupe(list: JobFileIssue[], into: JobFileIssue[], seen: Set<string>): void {
  for (const i of list) {
    const key = `${i.file}:${i.line}:${i.col}:${i.path}:${i.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    into.push(i);
  }
}

function build(docs: LNode[], name: string, source: string, overrides: string[], issues: JobFileIssue[], warnings: JobFileIssue[], opts: LoadOptions): LoadedJobs {
  if (docs.length === 0 && issues.length === 0) issues.push(issueAt({ file: name, line: 1, col: 1 }, '', 'no job in the file'));
  const [first, ...rest] = docs;
  if (first && first.kind !== 'map') {
    const empty = first.kind === 'scalar' && first.value === null;
    issues.push(issueAt(first.pos, '', empty ? 'the first document is empty: every job of a file starts from it' : 'a job document must be a mapping of fields'));
  }
  rest.forEach((d, i) => {
    if (d.kind === 'scalar' && d.value === null) warnings.push(issueAt(d.pos, '', `document ${i + 2} is empty: like lkp, it repeats the first document as one more job`));
    else if (d.kind !== 'map') issues.push(issueAt(d.pos, '', 'a job document must be a mapping of fields'));
  });
  const rerunOf = takeRerun(first);
  const made = rerunOf !== undefined ? (first as LMap).entries.get('pkgbuild') : undefined;
  if (made) throw new JobFileError([...issues, issueAt(made.keyPos, 'pkgbuild', buildJobRerun(rerunOf!, made.value))]);
  const search = searchOf(opts);
  const defaults = layersMap(opts.defaults ?? [], issues, search);
  const over = layersMap(opts.overlays ?? [], issues, search);
  const cli = overridesMap(parseOverrides(overrides, issues));
  if (over) for (const [k, e] of cli.entries) over.entries.set(k, e);
  const overlay = over ?? cli;
  if (issues.length > 0) throw new JobFileError(issues);
  const doc0 = first as LMap;
  // lkp: document 0 is a job of its own, then each later document is merged over it.
  const parts = [undefined, ...(rest as (LMap | { kind: 'scalar' })[]).map((d) => (d.kind === 'map' ? d : undefined))];
  const tree: LkpTree | undefined = opts.lkpSrc ? readLkpTree(opts.lkpSrc) : undefined;
  const total = { n: 0 };
  const expanded: LMap[] = [];
  parts.forEach((part, i) => {
    let job = revise(doc0, defaults, false, issues);
    job = revise(job, part, true, issues);
    if (overlay.entries.size > 0) job = revise(job, overlay, true, issues);
    if (i > 0) job = { ...job, pos: (rest[i - 1] as LNode).pos };
    if (issues.length > 0) return;
    for (const e of expand(job, { issues, total, ...(tree ? { tree } : {}) })) expanded.push(revise(e, undefined, false, issues));
  });
  const seenI = new Set<string>();
  const seenW = new Set<string>();
  const allW: JobFileIssue[] = [];
  dedupe(warnings, allW, seenW);
  const checkOpts: CheckOptions = { requireSuite: opts.requireSuite !== false, ...(tree ? { lkpNames: new Set([...tree.programs.keys(), ...[...tree.programs.values()].flat().map(([, o]) => o)]) } : {}) };
  const found: JobFileIssue[] = [];
  if (issues.length === 0) {
    for (const job of expanded) {
      const mine: JobFileIssue[] = [];
      const w: JobFileIssue[] = [];
      checkJob(job, mine, w, checkOpts);
      dedupe(mine, found, seenI);
      dedupe(w, allW, seenW);
    }
  }
  issues.push(...found);
  if (opts.strict) issues.push(...allW);
  if (issues.length > 0) throw new JobFileError(issues);
  const jobs = expanded.map(toJson);
  return {
    jobs,
    warnings: allW,
    names: jobs.map((j) => jobName(j, source, tree)),
    ...(rerunOf !== undefined ? { rerunOf } : {}),
    locate(index, path) {
      const job = expanded[index];
      if (!job) return { file: name, line: 1, col: 1 };
      return locateIn(job, path).pos;
    },
  };
}

export function loadJobText(text: string, name: string, overrides: string[] = [], opts: LoadOptions = {}): LoadedJobs {
  const issues: JobFileIssue[] = [];
  const warnings: JobFileIssue[] = [];
  const ctx: LoadContext = { includeRoot: opts.includeRoot ?? null, searchPath: searchOf(opts), issues, warnings };
  const file = resolve(opts.includeRoot ?? process.cwd(), name);
  return build(parseFile(ctx, file, text, name), name, name, overrides, issues, warnings, opts);
}

export function loadJobFile(file: string, overrides: string[] = [], opts: LoadOptions = {}): LoadedJobs {
  const full = resolve(file);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (err) {
    throw new JobFileError([issueAt({ file, line: 0, col: 0 }, '', `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)]);
  }
  const issues: JobFileIssue[] = [];
  const warnings: JobFileIssue[] = [];
  // A file on the user's own machine may include any of their files.
  const ctx: LoadContext = { includeRoot: opts.includeRoot ?? '/', searchPath: searchOf(opts), issues, warnings };
  const shown = shownName(full);
  return build(parseFile(ctx, full, text, shown), shown, full, overrides, issues, warnings, opts);
}

export interface ValidateOptions {
  /** Near misses are errors. */
  strict?: boolean;
  /** Where near misses go when not strict. */
  warnings?: JobFileIssue[];
}

/** Checks a job given as JSON (an API body): issues with the field path, no positions. */
export function validateJob(job: unknown, opts: ValidateOptions = {}): JobFileIssue[] {
  const issues: JobFileIssue[] = [];
  const warnings: JobFileIssue[] = [];
  checkJob(fromJson(job, { file: '<body>', line: 0, col: 0 }), issues, warnings);
  if (opts.strict) issues.push(...warnings);
  else opts.warnings?.push(...warnings);
  return issues;
}
