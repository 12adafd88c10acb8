// Dispatch: a testbox long-polls for work; one transaction claims the best
// job for it (SPEC §6). Waiting is on the wake-up signal a submit or a
// release sends at commit, never a sleep loop.
import { NotFoundError } from '../errors.ts';
import type { JobRow } from '../store/jobs.ts';
import { getTestbox, type TestboxRow } from '../store/testboxes.ts';
import { dispatchChannel } from '../store/notify.ts';
import { issueJobToken } from '../store/credentials.ts';
import { mustBeTestbox, OPEN, type Caller } from './access.ts';
import type { Assignment } from '../api/contract.ts';
import { writeJobYaml } from './job-files.ts';
import { osImageFor } from './os-images.ts';
import { depsFor } from './loader.ts';
import { jobCgzPath, jobDetail, usableArtifacts } from './views.ts';
import type { Ctx } from './context.ts';
import { jobKind } from './metrics.ts';

export type { Assignment } from '../api/contract.ts';

/** One claim attempt for a testbox: the job it now holds, or undefined. */
export async function claimFor(ctx: Ctx, box: TestboxRow): Promise<JobRow | undefined> {
  const started = performance.now();
  const now = ctx.now();
  const claimed = await ctx.store.claim(box.hostname, now, now + ctx.config.deadlines.bootTimeout);
  ctx.metrics.claimSeconds.observe((performance.now() - started) / 1000);
  if (claimed) {
    ctx.metrics.claims.inc();
    ctx.metrics.queueWait.observe({ kind: jobKind(claimed) }, (now - claimed.submit_time) / 1000);
    // The job's result root gets its job.yaml when the job is about to run, off the claim's path.
    ctx.background.add(
      writeJobYaml(ctx, claimed.id, claimed.result_root, claimed.spec).catch((err: unknown) => ctx.log.warn({ err, job: claimed.id }, 'cannot write job.yaml')),
    );
  }
  return claimed;
}

/**
 * Long-poll: claim now, or wait for a wake-up and try again, until waitMs
 * passes. Returns null when there is no work for this testbox.
 */
export async function nextJob(ctx: Ctx, hostname: string, waitMs: number, signal?: AbortSignal, caller: Caller = OPEN): Promise<Assignment | null> {
  mustBeTestbox(caller, hostname);
  const deadline = ctx.now() + Math.min(waitMs, ctx.config.timing.longPollMax);
  for (;;) {
    let box = await getTestbox(ctx.store.db, hostname);
    if (!box) throw new NotFoundError('testbox', hostname);
    const channel = dispatchChannel(box.type, box.arch);
    const seq = ctx.store.notifier.seq(channel);
    // Out of dispatch: read it again now that the wake-up count is taken, so an enable that committed
    // between the first read and the count is seen here rather than slept through until the poll ends.
    if (box.disabled_reason != null) box = (await getTestbox(ctx.store.db, hostname)) ?? box;
    // A box whose heartbeats stopped is lost, even if an old long-poll of it is still open: it gets no job.
    const alive = ctx.now() - box.last_heartbeat <= ctx.config.timing.testboxLostAfter;
    // A box out of dispatch (too many infrastructure failures in a row) takes only a health-check job pinned
    // to it (the claim's rule, model/match.ts), until that passes or an admin enables it.
    const row = alive ? await claimFor(ctx, box) : undefined;
    if (row) return assignment(ctx, row, box);
    const left = deadline - ctx.now();
    if (left <= 0 || signal?.aborted) return null;
    await ctx.store.notifier.wait(channel, left, signal, seq);
    if (signal?.aborted) return null;
  }
}

async function assignment(ctx: Ctx, row: JobRow, box: TestboxRow): Promise<Assignment> {
  const deps = (await depsFor(ctx.store.db, [row.id])).get(row.id) ?? [];
  return {
    job: jobDetail(row, undefined, deps),
    job_cgz: jobCgzPath(row.id),
    artifacts: usableArtifacts(deps),
    heartbeat_interval: ctx.config.timing.heartbeatInterval,
    // What runs inside a guest reports with a token good only for this job, never the box's own.
    ...(box.type !== 'dc' ? { job_token: await issueJobToken(ctx.store.db, row.id) } : {}),
    ...(box.type !== 'dc' ? { os_image: await osImageFor(ctx, row) } : {}),
  };
}
