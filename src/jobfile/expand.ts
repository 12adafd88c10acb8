// Matrix expansion (as lkp-tests does): inside the suite's parameter map, a
// list value gives one job per element; several lists give the cross
// product, the first list varying slowest. Nothing else expands.
import { issueAt, type JobFileIssue } from './errors.ts';
import type { LMap, LNode } from './located.ts';

export const MAX_JOBS = 10_000;

export function suiteOf(job: LMap): string | undefined {
  const s = job.entries.get('suite')?.value;
  if (s?.kind !== 'scalar' || s.value === null) return undefined;
  return typeof s.value === 'string' ? s.value : (s.text ?? String(s.value));
}

/** The jobs a template expands to; `total` counts across the file for the cap. */
export function expand(template: LMap, issues: JobFileIssue[], total: { n: number }): LMap[] {
  const suite = suiteOf(template);
  const entry = suite === undefined ? undefined : template.entries.get(suite);
  if (!suite || !entry || entry.value.kind !== 'map') return [template];
  const params = entry.value;
  const axes = [...params.entries].filter(([, e]) => e.value.kind === 'seq' && e.value.items.length > 0);
  const empty = [...params.entries].find(([, e]) => e.value.kind === 'seq' && e.value.items.length === 0);
  if (empty) {
    issues.push(issueAt(empty[1].value.pos, `${suite}.${empty[0]}`, 'an empty list expands to no job'));
    return [];
  }
  if (axes.length === 0) return [template];
  const count = axes.reduce((n, [, e]) => n * (e.value as { items: LNode[] }).items.length, 1);
  if (total.n + count > MAX_JOBS) {
    issues.push(issueAt(params.pos, suite, `the file expands to more than ${MAX_JOBS} jobs`));
    return [];
  }
  total.n += count;
  let combos: [string, LNode][][] = [[]];
  for (const [k, e] of axes) {
    const items = (e.value as { items: LNode[] }).items;
    combos = combos.flatMap((c) => items.map((item) => [...c, [k, item] as [string, LNode]]));
  }
  return combos.map((combo) => {
    const p: LMap = { kind: 'map', pos: params.pos, entries: new Map(params.entries) };
    for (const [k, item] of combo) p.entries.set(k, { keyPos: params.entries.get(k)!.keyPos, value: item });
    const job: LMap = { kind: 'map', pos: template.pos, entries: new Map(template.entries) };
    job.entries.set(suite, { keyPos: entry.keyPos, value: p });
    return job;
  });
}
