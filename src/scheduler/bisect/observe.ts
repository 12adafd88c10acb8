// What a finished probe job says about its commit, per criterion (SPEC §7).
// A build that failed for the recipe is evidence for `build` and a skip for
// `function` and `perf` (never blamed); anything the lab did wrong — a lost
// testbox, a build lost after its retries, a cancelled probe, a probe no
// testbox of the lab could take (`unrunnable`) — is `infra`:
// run again, never counted. The Bayesian rule takes each job as one
// independent run: one failure after the culprit is strong evidence, so a
// lab failure must never look like one. A job that ran past its runtime
// (`timeout`, the suite hung) is the test's doing and counts as a failure.
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
  /**
   * function: a stat whose presence with a non-zero value marks the commit
   * bad, as compass-ci's error ids (`dmesg.WARNING:at_…`); without it a
   * success is good and any other end a skip.
   */
  errid?: string | undefined;
}

export function observe(job: ProbeJob, o: ObserveOptions): Observation {
  const health = job.job_health;
  if (health === 'dependency_failed') {
    const depHealth = (job.dep_failure as { health?: string } | null)?.health;
    if (depHealth !== 'failed') return { outcome: 'infra' };
    return { outcome: o.criterion === 'build' ? 'bad' : 'skip' };
  }
  if (health === 'abnormal' || health === 'cancel' || health === 'unrunnable' || health === null) return { outcome: 'infra' };
  // The build succeeded: the job ran.
  if (o.criterion === 'build') return { outcome: 'good' };
  if (o.criterion === 'function') {
    if (o.errid !== undefined) {
      // The error decides: there, the commit is bad however the job ended; not there, a job that
      // failed otherwise (it broke before or instead of showing it) tells nothing about it.
      if ((job.stats?.[o.errid] ?? 0) !== 0) return { outcome: 'bad' };
      return { outcome: health === 'success' ? 'good' : 'skip' };
    }
    if (health !== 'success') return { outcome: 'bad' };
    return { outcome: 'good' };
  }
  const value = job.stats?.[o.metric ?? ''];
  if (health !== 'success' || value === undefined || !Number.isFinite(value)) return { outcome: 'skip' };
  return { outcome: 'good', value };
}

/** Lab failures in a row after which a commit counts as untestable (a skip), so a commit the lab cannot run is not retried for ever. */
export const INFRA_IN_A_ROW = 3;

/**
 * The observation to record, given the commit's runs so far: an infra
 * failure that is the INFRA_IN_A_ROW-th in a row for this commit becomes a
 * skip (untestable, never blamed); everything else as observed.
 */
export function withInfraLimit(obs: Observation, previous: readonly Observation[]): Observation {
  if (obs.outcome !== 'infra') return obs;
  let streak = 1;
  for (let i = previous.length - 1; i >= 0 && previous[i]!.outcome === 'infra'; i--) streak++;
  return streak >= INFRA_IN_A_ROW ? { outcome: 'skip' } : obs;
}
