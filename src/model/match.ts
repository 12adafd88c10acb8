// Which job a testbox gets: the reference rules of dispatch, as plain
// functions. The store's claim query implements the same order in SQL; a
// differential test holds the two together.
import type { TboxType } from './lifecycle.ts';

export interface BoxView {
  /** Its hostname: the one box a pinned job may go to. */
  hostname?: string;
  type: TboxType | string;
  arch: string;
  /** GiB not taken by the jobs the box already runs. */
  freeMemory: number;
  /** Out of dispatch (too many infrastructure failures in a row): only a health-check job pinned to it. */
  disabled?: boolean;
}

export interface JobView {
  id: number;
  account: string;
  tbox_type: string;
  arch: string;
  memory_minimum: number;
  priority: number;
  /** Only this testbox may take it (a bisect spreading a commit's samples over the lab's testboxes). */
  pinned_host?: string | null;
  /** A health-check job: the one kind a box out of dispatch may take (pinned to it). */
  health_check?: boolean;
}

/**
 * A dispatchable job can run on a box of its type and arch with enough free
 * memory (and, if it is pinned, on that box only); a box out of dispatch
 * takes only a health-check job pinned to it.
 */
export function eligible(job: JobView, box: BoxView): boolean {
  const pinnedHere = job.pinned_host != null && job.pinned_host === box.hostname;
  if (box.disabled && !(job.health_check === true && pinnedHere)) return false;
  return job.tbox_type === box.type && job.arch === box.arch && job.memory_minimum <= box.freeMemory && (job.pinned_host == null || pinnedHere);
}

/** Within one account: highest priority first, then oldest. */
export function compareWithinAccount(a: JobView, b: JobView): number {
  return b.priority - a.priority || a.id - b.id;
}

/**
 * Across accounts, given each account's best job: highest priority first;
 * at equal priority the account with fewer jobs on testboxes right now
 * (so one account's thousand jobs cannot starve another's one); then oldest.
 */
export function pickAmongAccounts(best: JobView[], active: ReadonlyMap<string, number>): JobView | undefined {
  let chosen: JobView | undefined;
  for (const job of best) {
    if (!chosen) {
      chosen = job;
      continue;
    }
    const byPriority = job.priority - chosen.priority;
    const byActive = (active.get(chosen.account) ?? 0) - (active.get(job.account) ?? 0);
    if (byPriority > 0 || (byPriority === 0 && (byActive > 0 || (byActive === 0 && job.id < chosen.id)))) chosen = job;
  }
  return chosen;
}

/** The whole rule over a list of dispatchable jobs: what the claim must return. */
export function pickJob(jobs: JobView[], box: BoxView, active: ReadonlyMap<string, number>): JobView | undefined {
  const best = new Map<string, JobView>();
  for (const job of jobs) {
    if (!eligible(job, box)) continue;
    const current = best.get(job.account);
    if (!current || compareWithinAccount(job, current) < 0) best.set(job.account, job);
  }
  return pickAmongAccounts([...best.values()], active);
}
