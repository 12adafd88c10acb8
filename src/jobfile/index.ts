// Job files (SPEC §2): YAML documents with includes, multi-document merge,
// command-line overrides and matrix expansion, checked field by field with
// file:line:col for every problem. Nothing is returned if any job is invalid.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkJob, toJson } from './checks.ts';
import { JobFileError, issueAt, type JobFileIssue } from './errors.ts';
import { expand } from './expand.ts';
import { deepMerge, fromJson, locateIn, type LMap, type LNode, type SourcePos } from './located.ts';
import { parseFile, shownName, type LoadContext } from './load.ts';
import { applyOverride, parseOverrides } from './overrides.ts';

export { JobFileError, formatIssue, type JobFileIssue } from './errors.ts';
export type { SourcePos } from './located.ts';
export { JobFileSchema, JobSchema, type JobSpec } from './schema.ts';

export interface LoadedJobs {
  jobs: Record<string, unknown>[];
  /** Where field `path` of job `index` was written (or its nearest written ancestor). */
  locate(index: number, path: (string | number)[]): SourcePos;
}

export interface LoadOptions {
  /** Includes must stay inside this directory (loadJobText refuses includes without it). */
  includeRoot?: string;
}

function build(docs: LNode[], name: string, overrides: string[], issues: JobFileIssue[]): LoadedJobs {
  if (docs.length === 0 && issues.length === 0) issues.push(issueAt({ file: name, line: 1, col: 1 }, '', 'no job in the file'));
  for (const d of docs) if (d.kind !== 'map') issues.push(issueAt(d.pos, '', 'a job document must be a mapping of fields'));
  const maps = docs.filter((d): d is LMap => d.kind === 'map');
  // Documents 1..N each merged over document 0.
  let templates = maps.length <= 1 ? maps : maps.slice(1).map((d) => deepMerge(maps[0]!, d) as LMap);
  for (const o of parseOverrides(overrides, issues)) templates = templates.map((t) => applyOverride(t, o, issues));
  const total = { n: 0 };
  const expanded = issues.length > 0 ? [] : templates.flatMap((t) => expand(t, issues, total));
  const seen = new Set<string>();
  for (const job of expanded) {
    const mine: JobFileIssue[] = [];
    checkJob(job, mine);
    for (const i of mine) {
      const key = `${i.file}:${i.line}:${i.col}:${i.path}:${i.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      issues.push(i);
    }
  }
  if (issues.length > 0) throw new JobFileError(issues);
  return {
    jobs: expanded.map(toJson),
    locate(index, path) {
      const job = expanded[index];
      if (!job) return { file: name, line: 1, col: 1 };
      return locateIn(job, path).pos;
    },
  };
}

export function loadJobText(text: string, name: string, overrides: string[] = [], opts: LoadOptions = {}): LoadedJobs {
  const issues: JobFileIssue[] = [];
  const ctx: LoadContext = { includeRoot: opts.includeRoot ?? null, issues };
  const file = resolve(opts.includeRoot ?? process.cwd(), name);
  return build(parseFile(ctx, file, text, name, [file]), name, overrides, issues);
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
  // A file on the user's own machine may include any of their files.
  const ctx: LoadContext = { includeRoot: opts.includeRoot ?? '/', issues };
  const shown = shownName(full);
  return build(parseFile(ctx, full, text, shown, [full]), shown, overrides, issues);
}

/** Checks a job given as JSON (an API body): issues with the field path, no positions. */
export function validateJob(job: unknown): JobFileIssue[] {
  const issues: JobFileIssue[] = [];
  checkJob(fromJson(job, { file: '<body>', line: 0, col: 0 }), issues);
  return issues;
}
