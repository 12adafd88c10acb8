// The only periodic work: finish jobs whose stage deadline passed, jobs
// held by testboxes that went silent, and jobs that waited queue_timeout
// with no registered testbox able to take them (waiting.ts); the lab's
// health check on boxes out of dispatch (health-checks.ts); and, hourly,
// forget submit idempotency keys a day old. Each finish is its own transaction
// guarded by the stage it expects, so two servers sweeping at once cannot
// finish a job twice.
import { expiredHealth, isActive, type Health } from '../model/lifecycle.ts';
import { expiredJobs, getJob, jobsOnTestbox, type JobRow } from '../store/jobs.ts';
import { listTestboxes } from '../store/testboxes.ts';
import { pruneSubmitKeys } from '../store/submit-keys.ts';
import { finishInTx } from './finish.ts';
import { sweepUnrunnable } from './waiting.ts';
import { queueHealthChecks } from './health-checks.ts';
import type { Ctx } from './context.ts';

export interface SweepReport {
  finished: { id: number; health: string; reason: string }[];
  /** Idempotency keys forgotten by this sweep. */
  keysPruned?: number;
  /** The lab's health checks queued on boxes out of dispatch. */
  healthChecks?: { testbox: string; job: number }[];
}

/** How long a submit's Idempotency-Key is remembered, and how often the old ones are forgotten. */
export const SUBMIT_KEY_TTL_MS = 24 * 3600_000;
const PRUNE_EVERY_MS = 3600_000;
const lastPrune = new WeakMap<object, number>();

async function finishExpired(ctx: Ctx, row: JobRow, health: Health, reason: string): Promise<boolean> {
  return ctx.store.tx(async (t) => {
    const current = await getJob(t.db, row.id);
    if (!current || current.stage !== row.stage) return false;
    return finishInTx(ctx, t, current, { health, from: [row.stage], detail: { reason, stage: row.stage, testbox: row.assigned } });
  });
}

/**
 * One sweep. `hearingSince` is when this server began to hear heartbeats
 * without a gap (its start, or the end of a stall of its own: a blocked
 * event loop, a suspended process): a box is silent only if it has been
 * silent for a whole lost-after window that the server itself was there to
 * hear — the server's own stall is not the box's silence.
 */
export async function sweep(ctx: Ctx, hearingSince = -Infinity): Promise<SweepReport> {
  const now = ctx.now();
  const report: SweepReport = { finished: [] };
  const boxes = await listTestboxes(ctx.store.db);
  const lastSeen = new Map(boxes.map((b) => [b.hostname, Number(b.last_heartbeat)]));
  const lostAfter = ctx.config.timing.testboxLostAfter;
  const listening = now - hearingSince > lostAfter;
  const alive = (host: string | null) => host != null && (!listening || now - (lastSeen.get(host) ?? 0) <= lostAfter);

  // Testboxes that went silent: whatever they held is lost with them.
  for (const box of boxes) {
    if (alive(box.hostname)) continue;
    for (const row of await jobsOnTestbox(ctx.store.db, box.hostname)) {
      const reason = `testbox ${box.hostname} silent for ${Math.round((now - Number(box.last_heartbeat)) / 1000)} s`;
      if (await finishExpired(ctx, row, 'abnormal', reason)) report.finished.push({ id: row.id, health: 'abnormal', reason });
    }
  }

  for (const row of await expiredJobs(ctx.store.db, now)) {
    if (!isActive(row.stage)) continue;
    const health = expiredHealth(row.stage, alive(row.assigned));
    const reason = `${row.stage} deadline passed`;
    if (await finishExpired(ctx, row, health, reason)) report.finished.push({ id: row.id, health, reason });
  }
  report.finished.push(...(await sweepUnrunnable(ctx)));
  const checks = await queueHealthChecks(ctx, boxes);
  if (checks.length > 0) report.healthChecks = checks;
  if (now - (lastPrune.get(ctx.store) ?? -Infinity) >= PRUNE_EVERY_MS) {
    lastPrune.set(ctx.store, now);
    report.keysPruned = await pruneSubmitKeys(ctx.store.db, now - SUBMIT_KEY_TTL_MS);
  }
  if (report.finished.length > 0) ctx.log.info({ finished: report.finished }, 'sweeper finished jobs');
  return report;
}
