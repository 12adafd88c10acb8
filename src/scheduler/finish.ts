// Finishing a job, the one way every path does it (testbox close, sweeper,
// cancel, a dependency's failure), inside the caller's transaction. When the
// job is a pkgbuild job, its build ends here too, and with it every job
// waiting on the build: released, failed, or kept waiting on a retry.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { finishJob, getJob, lockJobs, type JobRow } from '../store/jobs.ts';
import { addEvent } from '../store/events.ts';
import { buildFiles, countWaiters, detachJob, endBuild, failWaiters as failWaitersOf, getBuildForUpdate, releaseWaiters, waitersOf, type BuildRow } from '../store/builds.ts';
import type { Tx } from '../store/db.ts';
import type { Health, Stage } from '../store/schema.ts';
import { dispatchChannel, jobChannel } from '../store/notify.ts';
import { signalWork } from './work.ts';
import { isActive } from '../model/lifecycle.ts';
import { enableTestbox, getTestbox, recordInfraFailure, resetInfraFailures } from '../store/testboxes.ts';
import { requiredArtifacts } from '../artifacts/layout.ts';
import type { DepFailure, Stats } from '../api/contract.ts';
import type { Ctx } from './context.ts';
import { createPkgbuildJob } from './builds.ts';
import { jobKind } from './metrics.ts';

export type { DepFailure } from '../api/contract.ts';

export interface FinishOptions {
  health: Health;
  /** Only if the job is in one of these stages. */
  from?: readonly Stage[];
  stats?: Stats | null;
  depFailure?: DepFailure;
  /** Extra timeline details (reason, testbox…). */
  detail?: Record<string, unknown>;
  /** An abnormal end that is not the testbox's failure (the box restarted: an operator's doing), so it does not count against its health. */
  boxBlameless?: boolean;
}

/** Finishes the job unless it already finished; false if it had. */
export async function finishInTx(ctx: Ctx, t: Tx, row: JobRow, o: FinishOptions): Promise<boolean> {
  const id = row.id;
  const now = ctx.now();
  const done = await finishJob(t.db, id, { health: o.health, now, stats: o.stats, depFailure: o.depFailure, from: o.from });
  if (!done) return false;
  await addEvent(t.db, id, 'finish', now, { health: o.health, ...(o.detail ?? {}) });
  t.notify(jobChannel(id));
  t.after(() => ctx.metrics.finished.inc({ kind: jobKind(row), health: o.health }));
  if (row.assigned != null && isActive(row.stage)) await testboxVerdict(ctx, t, row, o);
  if (row.build_key) await pkgbuildFinished(ctx, t, row, o.health);
  await releaseOrphans(ctx, t, await detachJob(t.db, id, 'detached'));
  return true;
}

/**
 * What the end of a job it held says about the testbox (LAVA's health): an
 * abnormal end is one more infrastructure failure in a row, and at the
 * lab's testbox_max_infra_failures the box leaves dispatch; a verdict of
 * the job's own (success, failed, timeout) means the box works.
 */
/** A job its box could not start and that is handed out again: one infrastructure failure of that box (not for builds, as in a close). */
export async function countInfraFailure(ctx: Ctx, t: Tx, row: JobRow, reason: string): Promise<void> {
  if (row.assigned != null && row.build_key == null) await testboxVerdict(ctx, t, row, { health: 'abnormal', detail: { reason } } as FinishOptions);
}

async function testboxVerdict(ctx: Ctx, t: Tx, row: JobRow, o: FinishOptions): Promise<void> {
  const host = row.assigned!;
  if (row.health_check === 1) return healthCheckVerdict(ctx, t, row, o);
  if (o.health === 'success' || o.health === 'failed' || o.health === 'timeout') return resetInfraFailures(t.db, host);
  if (o.health !== 'abnormal' || o.boxBlameless) return;
  const max = ctx.config.lab.policy.testbox_max_infra_failures;
  if (max <= 0) return;
  const why = typeof o.detail?.reason === 'string' ? o.detail.reason : 'closed abnormal by the testbox';
  const reason = `${max} infrastructure failures in a row (the last: job ${row.id}, ${why})`;
  if (await recordInfraFailure(t.db, host, max, reason, ctx.now())) {
    await addEvent(t.db, row.id, 'testbox_disabled', ctx.now(), { testbox: host, reason });
    t.after(() => ctx.log.warn({ testbox: host, reason }, 'testbox taken out of dispatch (stacklab testbox enable, or a passing health check, brings it back)'));
  }
}

/**
 * A health-check job's end (LAVA's): passing, it brings its box back into
 * dispatch if it was out, and its failures in a row start again; failing
 * (or ending abnormal) the box stays where it was — a box out of dispatch
 * waits for the next health check or an admin.
 */
async function healthCheckVerdict(ctx: Ctx, t: Tx, row: JobRow, o: FinishOptions): Promise<void> {
  const host = row.assigned!;
  if (o.health !== 'success') return;
  const box = await getTestbox(t.db, host);
  if (!box) return;
  await enableTestbox(t.db, host);
  if (box.disabled_reason == null) return;
  await addEvent(t.db, row.id, 'testbox_enabled', ctx.now(), { testbox: host, was: box.disabled_reason, by: 'health check' });
  t.notify(dispatchChannel(box.type, box.arch));
  t.after(() => ctx.log.info({ testbox: host, job: row.id, was: box.disabled_reason }, 'testbox back in dispatch: its health check passed'));
}

/** A build's files are all recorded, by its current job, and on disk with their size. */
async function verifiedArtifacts(ctx: Ctx, t: Tx, b: BuildRow): Promise<string | null> {
  const files = await buildFiles(t.db, [b.key]);
  for (const name of requiredArtifacts(b.pkg)) {
    const f = files.find((x) => x.name === name && x.job_id === b.pkgbuild_job);
    if (!f) return `the build uploaded no ${name}`;
    const full = join(ctx.config.srvDir, f.path);
    if (!existsSync(full) || statSync(full).size !== f.size) return `${name} is missing or changed on the server`;
  }
  return null;
}

async function pkgbuildFinished(ctx: Ctx, t: Tx, row: JobRow, health: Health): Promise<void> {
  const b = await getBuildForUpdate(t, row.build_key!);
  if (!b || b.pkgbuild_job !== row.id || !(b.state === 'queued' || b.state === 'building')) return;
  const now = ctx.now();
  if (health === 'success') {
    const problem = await verifiedArtifacts(ctx, t, b);
    if (!problem) {
      await endBuild(t.db, b.key, 'succeeded', now);
      await lockJobs(t, await waitersOf(t.db, b.key));
      const ready = await releaseWaiters(t.db, b.key);
      t.after(() => ready.forEach((j) => ctx.metrics.buildWait.observe((now - j.submit_time) / 1000)));
      for (const { id } of ready) {
        await addEvent(t.db, id, 'release', now, { build_key: b.key, pkg: b.pkg, pkgbuild_job: row.id });
        t.notify(jobChannel(id));
      }
      signalWork(t, ready);
      return;
    }
    return failBuild(ctx, t, b, row, 'failed', problem);
  }
  const infra = health === 'abnormal' || health === 'timeout';
  if (infra && b.attempts < 1 + ctx.config.lab.policy.build_retries) {
    // The testbox was lost or the build overran: try again before blaming the recipe.
    const retry = await createPkgbuildJob(ctx, t, b, { account: row.account, priority: row.priority }, now);
    for (const id of await waitersOf(t.db, b.key)) {
      await addEvent(t.db, id, 'build_retry', now, { pkg: b.pkg, build_key: b.key, failed_job: row.id, health, pkgbuild_job: retry });
      t.notify(jobChannel(id));
    }
    return;
  }
  const why = health === 'cancel' ? 'the pkgbuild job was cancelled' : health === 'unrunnable' ? `no registered testbox could take the pkgbuild job (testbox ${row.testbox}) within queue_timeout` : undefined;
  return failBuild(ctx, t, b, row, health, why);
}

/** The build failed for good: every job waiting on it finishes dependency_failed. */
async function failBuild(ctx: Ctx, t: Tx, b: BuildRow, pkgbuildJob: JobRow, health: string, error?: string): Promise<void> {
  const failure: DepFailure = {
    pkg: b.pkg,
    build_key: b.key,
    pkgbuild_job: pkgbuildJob.id,
    health,
    log: `${pkgbuildJob.result_root}/build.log`,
    ...(error ? { error } : {}),
  };
  // Neither a cancelled build nor one no testbox could run says anything about the recipe: not remembered as failed.
  await endBuild(t.db, b.key, health === 'cancel' || health === 'unrunnable' ? 'cancelled' : 'failed', ctx.now(), failure);
  await failWaiters(ctx, t, b.key, failure);
}

/** Finishes every job waiting on a build as dependency_failed, in a few statements however many. */
export async function failWaiters(ctx: Ctx, t: Tx, key: string, failure: DepFailure): Promise<void> {
  const waiters = await waitersOf(t.db, key);
  if (waiters.length === 0) return;
  await lockJobs(t, waiters);
  await failWaitersOf(t.db, key, ctx.now(), failure);
  const others = new Set<string>();
  for (const id of waiters) {
    for (const k of await detachJob(t.db, id, 'detached')) others.add(k);
    t.notify(jobChannel(id));
  }
  t.after(() => ctx.metrics.finished.inc({ kind: 'test', health: 'dependency_failed' }, waiters.length));
  await releaseOrphans(ctx, t, [...others]);
}

/** Builds nobody waits on any more and not yet started are cancelled with their pkgbuild job. */
async function releaseOrphans(ctx: Ctx, t: Tx, keys: string[]): Promise<void> {
  for (const key of keys) {
    const b = await getBuildForUpdate(t, key);
    if ((await countWaiters(t.db, key)) > 0) continue;
    if (!b || b.state !== 'queued' || b.pkgbuild_job == null) continue;
    const job = await getJob(t.db, b.pkgbuild_job);
    if (!job || job.stage !== 'submit') continue;
    await finishInTx(ctx, t, job, { health: 'cancel', from: ['submit'], detail: { reason: 'no job waits on this build any more' } });
  }
}
