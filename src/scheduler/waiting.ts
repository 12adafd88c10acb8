// Why a queued job waits, and the end of waiting for a job nothing can run
// (SPEC §6): the facts the wait reasons need (the registered testboxes with
// the memory their jobs take, the pkgbuild jobs, the queue position), the
// submit's warning, and the sweep that finishes a job `unrunnable` once it
// waited the lab's queue_timeout with no registered testbox able to take it.
// The rule of which box can take which job is model/match's, via views.ts.
import { getJob, queuePosition, waitingGroups, waitingJobsOf, type JobRow } from '../store/jobs.ts';
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

/** A job's deps with their builds (no files: what the warnings need). */
async function pendingDeps(db: Db, id: number): Promise<DepInfo[]> {
  const deps = await depsOfJobs(db, [id]);
  const builds = new Map((await getBuilds(db, deps.map((d) => d.build_key))).map((b) => [b.key, b]));
  return deps.flatMap((dep) => (builds.has(dep.build_key) ? [{ dep, build: builds.get(dep.build_key)!, files: [] }] : []));
}

/** The submit's answer, with a warning on each job no registered testbox can take. */
export async function submitWarnings(ctx: Ctx, results: SubmitResult[]): Promise<SubmitResult[]> {
  if (results.length === 0) return results;
  const boxes = await waitBoxes(ctx);
  const out: SubmitResult[] = [];
  const timeout = `after ${ctx.config.lab.policy.queue_timeout} s (lab.yaml queue_timeout) unless one registers`;
  for (const r of results) {
    const row = r.warning === undefined ? await getJob(ctx.store.db, r.job_id) : undefined;
    if (row && row.stage === 'submit' && boxesFor(row, boxes).length === 0) {
      const reason = waitReason({ ...row, deps_pending: 0 }, [], { boxes });
      out.push({ ...r, warning: `job ${r.job_id}: ${reason!.message}; it finishes unrunnable ${timeout}` });
      continue;
    }
    // Its build cannot run anywhere either: the job would end dependency_failed at the timeout.
    const deps = row && row.deps_pending > 0 ? await pendingDeps(ctx.store.db, row.id) : [];
    const stuck = [...(await pkgbuildJobs(ctx.store.db, deps, boxes)).entries()].filter(([, p]) => !p.placeable);
    if (stuck.length > 0) {
      const what = stuck.map(([id, p]) => `pkgbuild job ${id} (testbox ${p.testbox})`).join(', ');
      out.push({ ...r, warning: `job ${r.job_id}: no registered testbox can take its build's ${what}; the build ends unrunnable ${timeout}` });
    } else out.push(r);
  }
  return out;
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
