// GET /api/compare and `stacklab compare`: finished jobs chosen like the
// jobs list chooses them, grouped by the value of one field, and each
// stat's groups set side by side (model/compare.ts does the statistics).
// A field is `ss.<pkg>.commit` (the resolved sha of the job's build of
// pkg), `ss.<pkg>.config`, or any key path of the job as submitted
// (`testbox`, `demo-test.iterations`, `testbox_host`).
import { UserError } from '../errors.ts';
import type { Comparison, Job } from '../api/contract.ts';
import { listJobs, type JobFilter } from '../store/jobs.ts';
import { compareGroups, mark } from '../model/compare.ts';
import { isErrorStat } from '../model/dmesg.ts';
import { loadJobs } from './loader.ts';
import type { Ctx } from './context.ts';

export interface CompareQuery {
  group_by: string;
  filter: JobFilter;
  /** The groups to show, in this order (values, sha prefixes or refs); default: every group, in the order of its first job. */
  groups?: string[] | undefined;
  /** The group the others are compared with (default: the first). */
  base?: string | undefined;
  /** Only jobs whose field has this value (a label set at submit marks a group of submits: labels.run=nightly-3). */
  where?: [field: string, value: string][] | undefined;
  /** Only stats whose name contains one of these. */
  stats?: string[] | undefined;
  alpha?: number | undefined;
}

interface Value {
  key: string;
  label: string;
  /** Other spellings a user may name it by (the ref as written). */
  aliases: string[];
}

function walk(obj: unknown, parts: string[]): unknown {
  if (parts.length === 0) return obj;
  if (obj === null || typeof obj !== 'object') return undefined;
  const rec = obj as Record<string, unknown>;
  // keys may hold dots themselves: the longest matching prefix wins
  for (let k = parts.length; k >= 1; k--) {
    const key = parts.slice(0, k).join('.');
    if (Object.hasOwn(rec, key)) {
      const v = walk(rec[key], parts.slice(k));
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

/** The value of `field` for job j, or undefined when it has none. */
export function fieldValue(j: Job, field: string): Value | undefined {
  const ss = /^ss\.([^.]+)\.(commit|config)$/.exec(field);
  if (ss) {
    const dep = j.deps.find((d) => d.pkg === ss[1]);
    if (!dep) return undefined;
    if (ss[2] === 'config') return { key: dep.config ?? 'default', label: dep.config ?? 'default', aliases: [] };
    return { key: dep.commit, label: dep.commit_ref !== dep.commit ? `${dep.commit.slice(0, 12)} (${dep.commit_ref})` : dep.commit.slice(0, 12), aliases: [dep.commit_ref] };
  }
  const v = walk(j, field.split('.'));
  if (v === undefined || v === null) return undefined;
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return { key: s, label: s, aliases: [] };
}

const matches = (v: Value, asked: string) => v.key === asked || v.label === asked || v.aliases.includes(asked) || (/^[0-9a-f]{4,39}$/.test(asked) && /^[0-9a-f]{40}$/.test(v.key) && v.key.startsWith(asked));

export async function compareJobs(ctx: Ctx, q: CompareQuery): Promise<Comparison> {
  const db = ctx.store.db;
  if (!/^[A-Za-z0-9_][A-Za-z0-9._+-]{0,199}$/.test(q.group_by)) throw new UserError('invalid_request', `group_by: not a field path: ${q.group_by}`);
  const alpha = q.alpha ?? 0.05;
  const rows = (await listJobs(db, { ...q.filter, stage: 'finish' })).filter((r) => r.stats !== null);
  const kept = (j: Job) =>
    (q.where ?? []).every(([field, value]) => {
      const v = fieldValue(j, field);
      return v !== undefined && matches(v, value);
    });
  const jobs = (await loadJobs(ctx, rows)).filter(kept).sort((a, b) => a.id - b.id);
  const groups = new Map<string, { value: Value; jobs: Job[] }>();
  const ungrouped: number[] = [];
  for (const j of jobs) {
    const v = fieldValue(j, q.group_by);
    if (!v) {
      ungrouped.push(j.id);
      continue;
    }
    const g = groups.get(v.key) ?? { value: v, jobs: [] };
    g.jobs.push(j);
    groups.set(v.key, g);
  }
  let ordered = [...groups.values()];
  if (q.groups && q.groups.length > 0) {
    ordered = q.groups.map((asked) => {
      const found = ordered.filter((g) => matches(g.value, asked));
      if (found.length !== 1) throw new UserError('invalid_request', found.length === 0 ? `no selected job has ${q.group_by} = ${asked}` : `${asked} names ${found.length} groups of ${q.group_by}`, { group: asked, known: ordered.map((g) => g.value.label) });
      return found[0]!;
    });
  }
  if (q.base !== undefined) {
    const i = ordered.findIndex((g) => matches(g.value, q.base!));
    if (i < 0) throw new UserError('invalid_request', `base: no selected job has ${q.group_by} = ${q.base}`, { known: ordered.map((g) => g.value.label) });
    ordered = [ordered[i]!, ...ordered.filter((_, k) => k !== i)];
  }
  const wanted = (stat: string) => !q.stats || q.stats.length === 0 || q.stats.some((s) => stat.includes(s));
  // An error stat a job does not have is an error it did not show: 0, so its mean is the share of runs that did (lkp's fail:runs).
  const errors = new Set(ordered.flatMap((g) => g.jobs.flatMap((j) => Object.keys(j.stats ?? {}).filter((k) => isErrorStat(k) && wanted(k)))));
  const samples = ordered.map((g) => {
    const byStat: Record<string, number[]> = {};
    for (const j of g.jobs) {
      for (const [k, v] of Object.entries(j.stats ?? {})) if (wanted(k) && Number.isFinite(v)) (byStat[k] ??= []).push(v);
      for (const k of errors) if (!(k in (j.stats ?? {}))) (byStat[k] ??= []).push(0);
    }
    return { key: g.value.key, samples: byStat };
  });
  const stats = compareGroups(samples, alpha).map((r) => ({ stat: r.stat, groups: r.groups.map((g) => ({ ...g, change: g.change ? { ...g.change, mark: mark(g.change) } : null })) }));
  return {
    group_by: q.group_by,
    alpha,
    groups: ordered.map((g) => ({ key: g.value.key, label: g.value.label, jobs: g.jobs.map((j) => j.id) })),
    stats,
    jobs: jobs.length,
    ungrouped,
  };
}
