// Dispatch: a testbox long-polls for work; one transaction claims the best
// job for it (SPEC §6). Waiting is on the wake-up signal a submit or a
// release sends at commit, never a sleep loop.
import { NotFoundError } from '../errors.ts';
import type { JobRow } from '../store/jobs.ts';
import { getTestbox, heartbeat, type TestboxRow } from '../store/testboxes.ts';
import { CHANNEL_DISPATCH } from '../store/notify.ts';
import type { Assignment } from '../api/contract.ts';
import { writeJobYaml } from './job-files.ts';
import { depsFor } from './loader.ts';
import { jobCgzPath, jobDetail, usableArtifacts } from './views.ts';
import type { Ctx } from './context.ts';

export type { Assignment } from '../api/contract.ts';

/** One claim attempt for a testbox: the job it now holds, or undefined. */
export async function claimFor(ctx: Ctx, box: TestboxRow): Promise<JobRow | undefined> {
  const started = performance.now();
  const now = ctx.now();
  const claimed = await ctx.store.claim(box.hostname, now, now + ctx.config.deadlines.bootTimeout);
  ctx.metrics.claimSeconds.observe((performance.now() - started) / 1000);
  if (claimed) {
    ctx.metrics.claims.inc();
    // The job's result root gets its job.yaml when the job is about to run, off the claim's path.
    writeJobYaml(ctx, claimed.id, claimed.result_root, claimed.spec).catch((err: unknown) =>
      ctx.log.warn({ err, job: claimed.id }, 'cannot write job.yaml'),
    );
  }
  return claimed;
}

/**
 * Long-poll: claim now, or wait for a wake-up and try again, until waitMs
 * passes. Returns null when there is no work for this testbox.
 */
export async function nextJob(ctx: Ctx, hostname: string, waitMs: number, signal?: AbortSignal): Promise<Assignment | null> {
  const deadline = ctx.now() + Math.min(waitMs, ctx.config.timing.longPollMax);
  for (;;) {
    const seq = ctx.store.notifier.seq(CHANNEL_DISPATCH);
    const box = await getTestbox(ctx.store.db, hostname);
    if (!box) throw new NotFoundError('testbox', hostname);
    await heartbeat(ctx.store.db, hostname, ctx.now());
    const row = await claimFor(ctx, box);
    if (row) return assignment(ctx, row);
    const left = deadline - ctx.now();
    if (left <= 0 || signal?.aborted) return null;
    await ctx.store.notifier.wait(CHANNEL_DISPATCH, left, signal, seq);
    if (signal?.aborted) return null;
  }
}

async function assignment(ctx: Ctx, row: JobRow): Promise<Assignment> {
  const deps = (await depsFor(ctx.store.db, [row.id])).get(row.id) ?? [];
  return {
    job: jobDetail(row, undefined, deps),
    job_cgz: jobCgzPath(row.id),
    artifacts: usableArtifacts(deps),
    heartbeat_interval: ctx.config.timing.heartbeatInterval,
  };
}
