// What a finished probe job says about its commit, per criterion (SPEC §7).
// A build that failed for the recipe is evidence for `build` and a skip for
// `function` and `perf` (never blamed); anything the lab did wrong — a lost
// testbox, a build lost after its retries, a cancelled probe — is `infra`:
// run again, never counted.
import type { Criterion, Observation } from '../../bisect/types.ts';

export interface ProbeJob {
  job_health: string | null;
  stats: Record<string, number> | null;
  dep_failure: unknown;
}

export interface ObserveOptions {
  criterion: Criterion;
  /** perf: the stat sampled (`suite.key`). */
  metric?: string | undefined;
  /** function: a stat whose presence with a non-zero value marks the commit bad, as compass-ci's error ids. */
  errid?: string | undefined;
}

export function observe(job: ProbeJob, o: ObserveOptions): Observation {
  const health = job.job_health;
  if (health === 'dependency_failed') {
    const depHealth = (job.dep_failure as { health?: string } | null)?.health;
    if (depHealth !== 'failed') return { outcome: 'infra' };
    return { outcome: o.criterion === 'build' ? 'bad' : 'skip' };
  }
  if (health === 'abnormal' || health === 'cancel' || health === null) return { outcome: 'infra' };
  // The build succeeded: the job ran.
  if (o.criterion === 'build') return { outcome: 'good' };
  if (o.criterion === 'function') {
    if (health !== 'success') return { outcome: 'bad' };
    if (o.errid !== undefined && (job.stats?.[o.errid] ?? 0) !== 0) return { outcome: 'bad' };
    return { outcome: 'good' };
  }
  const value = job.stats?.[o.metric ?? ''];
  if (health !== 'success' || value === undefined || !Number.isFinite(value)) return { outcome: 'skip' };
  return { outcome: 'good', value };
}
