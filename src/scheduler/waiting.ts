// Why a queued job waits, and the end of waiting for a job nothing can run
// (SPEC §6): the facts the wait reasons need (the registered testboxes with
// the memory their jobs take, the pkgbuild jobs, the queue position), the
// submit's warning, and the sweep that finishes a job `unrunnable` once it
// waited the lab's queue_timeout with no registered testbox able to take it.
// The rule of which box can take which job is model/match's, via views.ts.
import { getJob, jobsByIds, queuePosition, waitingGroups, waitingJobsOf, type JobRow } from '../store/jobs.ts';
import { lastQueuedAt, type EventRow } from '../store/events.ts';
import { testboxesWithUse } from '../store/testboxes.ts';
import type { Db } from '../store/jobs.ts';
import type { Job, SubmitResult } from '../api/contract.ts';
import { boxesFor, waitReason, type DepInfo, type WaitBox } from './views.ts';
import { finishInTx } from './finish.ts';
import { depsOfJobs, getBuilds } from '../store/builds.ts';
import type { Ctx } from './context.ts';

/** The registered testboxes as the wait reasons see them, now. */
export async function waitBoxes(ctx: Ctx, db: Db = ctx.store.db): Promise<WaitBox[]> {
  const now = ctx.now();
  return (await testboxesWithUse(db)).map((b) => ({
    hostname: b.hostname,
    type: b.type,
    arch: b.arch,
    max_memory: Number(b.max_memory),
    used: b.used,
    live: now - Number(b.last_heartbeat) <= ctx.config.timing.testboxLostAfter,
    disabled_reason: b.disabled_reason,
  }));
}

/** Since when the job has been dispatchable: its submit, or its last release from a build or requeue. */
function queuedSince(row: JobRow, events: EventRow[] | undefined, last?: number): number {
  let t = Number(row.submit_time);
  for (const e of events ?? []) if (e.kind === 'release' || e.kind === 'requeue') t = Math.max(t, Number(e.time));
  return last === undefined ? t : Math.max(t, last);
}

type PkgbuildFacts = Map<number, { stage: string; assigned: string | null; testbox: string; placeable: boolean }>;

/** The builds' pkgbuild jobs: their stage and testbox, for "waiting on build X (its job's stage)", and whether any registered box can take them. */
async function pkgbuildJobs(db: Db, deps: DepInfo[], boxes: WaitBox[]): Promise<PkgbuildFacts> {
  const out: PkgbuildFacts = new Map();
  for (const d of deps) {
    const id = d.build.pkgbuild_job;
    if (id == null || d.dep.state !== 'waiting' || out.has(id)) continue;
    const j = await getJob(db, id);
    if (j) out.set(id, { stage: j.stage, assigned: j.assigned, testbox: j.testbox, placeable: j.stage !== 'submit' || boxesFor(j, boxes).length > 0 });
  }
  return out;
}

/** One job's view gets its full wait reason: position in the queue, the builds' jobs, when it would time out. */
export async function withWaitReason(ctx: Ctx, view: Job, row: JobRow, events: EventRow[], deps: DepInfo[]): Promise<Job> {
  if (row.stage !== 'submit') return view;
  const db = ctx.store.db;
  const boxes = await waitBoxes(ctx);
  const dispatchable = row.deps_pending === 0;
  const timeoutAt = dispatchable && boxesFor(row, boxes).length === 0 ? queuedSince(row, events) + ctx.config.lab.policy.queue_timeout * 1000 : undefined;
  view.wait_reason = waitReason(row, deps, {
    boxes,
    pkgbuildJobs: await pkgbuildJobs(db, deps, boxes),
    ...(dispatchable ? { position: await queuePosition(db, row) } : {}),
    ...(timeoutAt === undefined ? {} : { timeoutAt }),
  });
  return view;
}

/** A list's views get the short reason (no position, one query for all of them). */
export async function withWaitReasons(ctx: Ctx, views: Job[], rows: JobRow[], deps: Map<number, DepInfo[]>): Promise<Job[]> {
  if (!rows.some((r) => r.stage === 'submit')) return views;
  const boxes = await waitBoxes(ctx);
  rows.forEach((r, i) => {
    if (r.stage === 'submit') views[i]!.wait_reason = waitReason(r, deps.get(r.id) ?? [], { boxes });
  });
  return views;
}

/** The submit's answer, with a warning on each job no registered testbox can take, or whose build none can. In a few queries however many jobs. */
export async function submitWarnings(ctx: Ctx, results: SubmitResult[]): Promise<SubmitResult[]> {
  if (results.length === 0) return results;
  const db = ctx.store.db;
  const boxes = await waitBoxes(ctx);
  const memo = new Map<string, boolean>();
  const placeable = (row: JobRow) => {
    const k = `${row.tbox_type}\0${row.arch}\0${row.memory_minimum}`;
    if (!memo.has(k)) memo.set(k, boxesFor(row, boxes).length > 0);
    return memo.get(k)!;
  };
  const rows = new Map((await jobsByIds(db, results.map((r) => r.job_id))).map((r) => [r.id, r]));
  // The pkgbuild jobs of the builds the waiting jobs wait on, and which of them no box can take.
  const deps = await depsOfJobs(db, [...rows.values()].filter((r) => r.stage === 'submit' && r.deps_pending > 0).map((r) => r.id));
  const builds = new Map((await getBuilds(db, [...new Set(deps.filter((d) => d.state === 'waiting').map((d) => d.build_key))])).map((b) => [b.key, b]));
  const pkgbuild = new Map((await jobsByIds(db, [...builds.values()].flatMap((b) => (b.pkgbuild_job == null ? [] : [b.pkgbuild_job])))).map((j) => [j.id, j]));
  const stuckOf = new Map<number, string[]>();
  for (const d of deps) {
    const id = builds.get(d.build_key)?.pkgbuild_job;
    const j = id == null ? undefined : pkgbuild.get(id);
    if (!j || j.stage !== 'submit' || placeable(j)) continue;
    stuckOf.set(d.job_id, [...(stuckOf.get(d.job_id) ?? []), `pkgbuild job ${j.id} (testbox ${j.testbox})`]);
  }
  const timeout = `after ${ctx.config.lab.policy.queue_timeout} s (lab.yaml queue_timeout) unless one registers`;
  return results.map((r) => {
    const row = rows.get(r.job_id);
    if (!row || row.stage !== 'submit' || r.warning !== undefined) return r;
    if (!placeable(row)) return { ...r, warning: `job ${r.job_id}: ${waitReason({ ...row, deps_pending: 0 }, [], { boxes })!.message}; it finishes unrunnable ${timeout}` };
    const stuck = stuckOf.get(r.job_id);
    // Its build cannot run anywhere either: the job would end dependency_failed at the timeout.
    return stuck ? { ...r, warning: `job ${r.job_id}: no registered testbox can take its build's ${stuck.join(', ')}; the build ends unrunnable ${timeout}` } : r;
  });
}

/** When each scheduler last looked for unrunnable jobs. */
const lastLook = new WeakMap<Ctx, number>();

/**
 * Finishes `unrunnable` every dispatchable job that has waited queue_timeout
 * since it became dispatchable while no registered testbox could take it.
 * Grouped by what the jobs need, so a long queue of runnable jobs costs one
 * query. Returns what it finished.
 */
export async function sweepUnrunnable(ctx: Ctx): Promise<{ id: number; health: string; reason: string }[]> {
  const timeout = ctx.config.lab.policy.queue_timeout * 1000;
  const now = ctx.now();
  const finished: { id: number; health: string; reason: string }[] = [];
  // A look over the whole queue is not needed every sweep: a tenth of the timeout late (at most 30 s) is on time.
  if (now - (lastLook.get(ctx) ?? -Infinity) < Math.min(30_000, timeout / 10)) return finished;
  lastLook.set(ctx, now);
  const groups = await waitingGroups(ctx.store.db, now - timeout);
  if (groups.length === 0) return finished;
  const boxes = await waitBoxes(ctx);
  for (const g of groups) {
    const rows = await waitingJobsOf(ctx.store.db, g, now - timeout);
    const runnable = rows.length > 0 && boxesFor(rows[0]!, boxes).length > 0;
    if (runnable) continue;
    const since = await lastQueuedAt(ctx.store.db, rows.map((r) => r.id));
    for (const row of rows) {
      if (now - queuedSince(row, undefined, since.get(row.id)) < timeout) continue;
      const reason = `${waitReason({ ...row, deps_pending: 0 }, [], { boxes })!.message}; waited ${Math.round((now - queuedSince(row, undefined, since.get(row.id))) / 1000)} s (queue_timeout ${ctx.config.lab.policy.queue_timeout} s)`;
      const done = await ctx.store.tx(async (t) => {
        const current = await getJob(t.db, row.id);
        if (!current || current.stage !== 'submit' || current.deps_pending !== 0) return false;
        return finishInTx(ctx, t, current, { health: 'unrunnable', from: ['submit'], detail: { reason, wait_kind: 'no_testbox' } });
      });
      if (done) finished.push({ id: row.id, health: 'unrunnable', reason });
    }
  }
  return finished;
}
