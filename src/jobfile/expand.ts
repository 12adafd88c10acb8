// Matrix expansion as lkp does it (Job#each_job): walk the job depth-first
// in written order; the first list found under an expanding key gives one
// job per element (so the first list varies slowest), the first `{{ }}`
// template found is evaluated against the job as it is at that moment (a
// nil result drops the job); repeat until nothing is left. Which keys
// expand: with an lkp tree, exactly lkp's (EXPAND_DIMS, the programs the job
// names, their options, the wrappers' options, cluster); without one,
// every key but lkp's accumulative ones (need_*, mail_to, constraints …).
// Lists under ss and labels never expand: stacklab reads those itself.
import { issueAt, type JobFileIssue } from './errors.ts';
import { EXPAND_DIMS, type LkpTree } from './lkp-tree.ts';
import type { LMap, LNode, SourcePos } from './located.ts';
import { accumulative } from './merge.ts';
import { toJson } from './plain.ts';
import { evalTemplate, templateString, TemplateError, type TemplateValue } from './template.ts';

export const MAX_JOBS = 10_000;
/** Templates evaluated for one job at most: a template may not keep making templates. */
const MAX_STEPS = 1_000;

const TEMPLATE = /^([\s\S]*)\{\{([\s\S]*)\}\}([\s\S]*)$/;

export function suiteOf(job: LMap): string | undefined {
  const s = job.entries.get('suite')?.value;
  if (s?.kind !== 'scalar' || s.value === null) return undefined;
  return typeof s.value === 'string' ? s.value : (s.text ?? String(s.value));
}

/** Workload programs a job names anywhere in its maps (lkp's for_each_in). */
export function referencedPrograms(job: LMap, tree: LkpTree): string[] {
  const found: string[] = [];
  const walk = (m: LMap) => {
    for (const [k, e] of m.entries) {
      if (tree.programs.has(k) && !found.includes(k)) found.push(k);
      if (e.value.kind === 'map') walk(e.value);
    }
  };
  walk(job);
  return found;
}

/** The keys whose lists expand, or undefined for "every key but the accumulative ones". */
export function expandingKeys(job: LMap, tree: LkpTree | undefined): Set<string> | undefined {
  if (!tree) return undefined;
  const set = new Set([...EXPAND_DIMS, 'cluster', 'wrapper', 'dwrapper']);
  for (const p of referencedPrograms(job, tree)) {
    set.add(p);
    for (const [, o] of tree.programs.get(p)!) set.add(o);
  }
  for (const [, o] of tree.wrapperOptions) set.add(o);
  return set;
}

type Action = { path: string[]; kind: 'list'; items: LNode[] } | { path: string[]; kind: 'template'; node: LNode & { kind: 'scalar' }; m: RegExpExecArray };

function firstAction(m: LMap, keys: Set<string> | undefined, path: string[]): Action | undefined {
  for (const [k, e] of m.entries) {
    if (path.length === 0 && (k === 'ss' || k === 'labels')) continue;
    const v = e.value;
    const here = [...path, k];
    if (v.kind === 'scalar' && typeof v.value === 'string') {
      const t = /\{\{[\s\S]*\}\}/.test(v.value) ? TEMPLATE.exec(v.value) : null;
      if (t) return { path: here, kind: 'template', node: v, m: t };
    } else if (v.kind === 'seq' && (keys ? keys.has(k) : !accumulative(k))) return { path: here, kind: 'list', items: v.items };
    if (v.kind === 'map') {
      const inner = firstAction(v, keys, here);
      if (inner) return inner;
    }
  }
  return undefined;
}

function parentOf(m: LMap, path: string[]): LMap {
  let cur = m;
  for (const k of path.slice(0, -1)) cur = cur.entries.get(k)!.value as LMap;
  return cur;
}

function setAt(m: LMap, path: string[], value: LNode): LMap {
  const [k, ...rest] = path;
  const entries = new Map(m.entries);
  const e = entries.get(k!)!;
  entries.set(k!, { keyPos: e.keyPos, value: rest.length === 0 ? value : setAt(e.value as LMap, rest, value) });
  return { kind: 'map', pos: m.pos, entries };
}

/** A template's value as a node of the job, placed where the template was written. */
function nodeOf(v: TemplateValue, pos: SourcePos): LNode {
  if (Array.isArray(v)) return { kind: 'seq', pos, items: v.map((x) => nodeOf(x, pos)) };
  if (v instanceof RegExp) return { kind: 'scalar', pos, value: templateString(v), text: null };
  if (v !== null && typeof v === 'object') return { kind: 'map', pos, entries: new Map(Object.entries(v).map(([k, x]) => [k, { keyPos: pos, value: nodeOf(x, pos) }])) };
  return { kind: 'scalar', pos, value: v, text: null };
}

export interface ExpandContext {
  issues: JobFileIssue[];
  total: { n: number };
  tree?: LkpTree;
}

/** The jobs one merged document expands to; `total` counts across the file for the cap. */
export function expand(template: LMap, ctx: ExpandContext): LMap[] {
  const keys = expandingKeys(template, ctx.tree);
  const out: LMap[] = [];
  const reported = new Set<string>();
  // The cap is reported at the mapping holding the first list: where the matrix is written.
  let matrix: { pos: SourcePos; path: string } = { pos: template.pos, path: '' };
  const walk = (job: LMap, steps: number): boolean => {
    const a = firstAction(job, keys, []);
    if (!a) {
      if (ctx.total.n >= MAX_JOBS) {
        ctx.issues.push(issueAt(matrix.pos, matrix.path, `the file expands to more than ${MAX_JOBS} jobs`));
        return false;
      }
      ctx.total.n++;
      out.push(job);
      return true;
    }
    if (a.kind === 'list') {
      if (matrix.path === '' && a.path.length > 1) matrix = { pos: parentOf(job, a.path).pos, path: a.path.slice(0, -1).join('.') };
      for (const item of a.items) if (!walk(setAt(job, a.path, item), steps)) return false;
      return true;
    }
    const where = a.path.join('.');
    if (steps >= MAX_STEPS) {
      ctx.issues.push(issueAt(a.node.pos, where, 'template: its value keeps making templates'));
      return false;
    }
    let v: TemplateValue;
    try {
      v = evalTemplate(a.m[2]!, toJson(job));
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      const key = `${a.node.pos.file}:${a.node.pos.line}:${a.node.pos.col}:${err.message}`;
      if (!reported.has(key)) {
        reported.add(key);
        ctx.issues.push(issueAt(a.node.pos, where, `template {{${a.m[2]!.replace(/\s+/g, ' ')}}}: ${err.message}`));
      }
      return true;
    }
    // lkp drops the job whose template gives nil (`{{ fs == 'f2fs' ? nil : 'disk_src' }}`).
    if (v === null) return true;
    const head = a.m[1]!.trimStart();
    const tail = a.m[3]!.replace(/\r?\n$/, '').trimEnd();
    const value = head === '' && tail === '' ? nodeOf(v, a.node.pos) : { kind: 'scalar' as const, pos: a.node.pos, value: `${head}${templateString(v)}${tail}`, text: null };
    return walk(setAt(job, a.path, value), steps + 1);
  };
  walk(template, 0);
  return out;
}
