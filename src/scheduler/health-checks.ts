// Health-check jobs (LAVA's): a job pinned to one testbox, the one job the
// box takes while it is out of dispatch; when it passes, the box is back in
// (finish.ts). An admin submits one by hand (`stacklab testbox health-check`),
// and a lab that names one in lab.yaml (`health_check: jobs/health.yaml`)
// has the sweeper queue it on every box that leaves dispatch: one per time
// the box left, so a failing check does not run again and again — the box
// then waits for an admin or the next check submitted by hand.
import { loadJobFile } from '../jobfile/index.ts';
import { NotFoundError, UserError } from '../errors.ts';
import { healthCheckSince, pinJob } from '../store/jobs.ts';
import { getTestbox, lockTestbox, type TestboxRow } from '../store/testboxes.ts';
import type { Tx } from '../store/db.ts';
import { addEvent } from '../store/events.ts';
import type { SubmitResult } from '../api/contract.ts';
import { tboxType } from '../model/lifecycle.ts';
import { insertInTx, prepareJobs, type PreparedJobs } from './submit.ts';
import { signalWork } from './work.ts';
import type { Ctx } from './context.ts';
import { accountOf, OPEN, type Caller } from './access.ts';

/** The one job of a health check, its testbox group and arch defaulting to the box's and checked against it. */
async function prepareHealthCheck(ctx: Ctx, box: TestboxRow, raw: unknown, caller: Caller): Promise<PreparedJobs> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UserError('invalid_job', 'a health check is one job object', { testbox: box.hostname });
  const job: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  job.testbox ??= box.type;
  job.os_arch ??= box.arch;
  if (typeof job.testbox !== 'string' || tboxType(job.testbox) !== box.type || job.os_arch !== box.arch) {
    throw new UserError('invalid_job', `testbox ${box.hostname} is a ${box.type} box of arch ${box.arch}: the health check asks for testbox ${String(job.testbox)}, os_arch ${String(job.os_arch)}`, {
      issues: [{ job: 0, path: 'testbox', message: `testbox ${box.hostname} cannot take it` }],
    });
  }
  return prepareJobs(ctx, [job], caller);
}

/** Inserts a prepared health check pinned to its box, inside the caller's transaction; its timeline says who asked. */
async function insertHealthCheck(ctx: Ctx, t: Tx, box: TestboxRow, prepared: PreparedJobs, by: string): Promise<SubmitResult> {
  const [result] = await insertInTx(ctx, t, prepared);
  await pinJob(t.db, result!.job_id, box.hostname);
  await t.db.updateTable('jobs').set({ health_check: 1 }).where('id', '=', result!.job_id).execute();
  await addEvent(t.db, result!.job_id, 'health_check', ctx.now(), { testbox: box.hostname, by, ...(box.disabled_reason ? { out_of_dispatch: box.disabled_reason } : {}) });
  signalWork(t, [{ tbox_type: box.type, arch: box.arch, pinned_host: box.hostname }]);
  return result!;
}

/** A health check submitted by hand for one testbox; with accounts on, an admin only. */
export async function submitHealthCheck(ctx: Ctx, hostname: string, raw: unknown, caller: Caller): Promise<SubmitResult> {
  const a = accountOf(caller);
  if (a && !a.admin) throw new UserError('forbidden', `only an admin may run a health check on testbox ${hostname}`, { testbox: hostname });
  const box = await getTestbox(ctx.store.db, hostname);
  if (!box) throw new NotFoundError('testbox', hostname);
  const prepared = await prepareHealthCheck(ctx, box, raw, caller);
  const result = await ctx.store.tx((t) => insertHealthCheck(ctx, t, box, prepared, a?.name ?? 'stacklab testbox health-check'));
  ctx.log.info({ testbox: hostname, job: result.job_id, by: a?.name, disabled: box.disabled_reason }, 'health check submitted');
  return result;
}

/** The lab's health-check job, read afresh (an edit to the file is seen at the next box that leaves). */
function labHealthCheck(ctx: Ctx, file: string): Record<string, unknown> {
  const lab = ctx.config.lab;
  // a job file error says file:line:col
  const loaded = loadJobFile(lab.resolveInside(file), [], { includeRoot: lab.dir, ...lab.jobSearch(), requireSuite: true });
  if (loaded.jobs.length !== 1) throw new UserError('invalid_job', `${file} makes ${loaded.jobs.length} jobs; a health check is one`);
  return loaded.jobs[0]!;
}

/** Boxes whose queueing failed, by the time they left dispatch: said once in the log, not at every sweep. */
const refused = new WeakMap<object, Set<string>>();

/**
 * The sweeper's part: the lab's health check (lab.yaml `health_check`) on
 * every box out of dispatch that has had none since it left. The check
 * and the insert share a transaction with the box's row locked, so two
 * servers sweeping at once queue one. `boxes`: the testboxes as the sweep
 * read them. Returns the jobs queued.
 */
export async function queueHealthChecks(ctx: Ctx, boxes: readonly TestboxRow[]): Promise<{ testbox: string; job: number }[]> {
  const file = ctx.config.lab.policy.health_check;
  if (file === undefined) return [];
  const queued: { testbox: string; job: number }[] = [];
  const seen = refused.get(ctx.store) ?? refused.set(ctx.store, new Set()).get(ctx.store)!;
  for (const box of boxes) {
    if (box.disabled_reason == null || box.disabled_at == null) continue;
    const since = Number(box.disabled_at);
    const episode = `${box.hostname}@${since}`;
    if (seen.has(episode) || (await healthCheckSince(ctx.store.db, box.hostname, since))) continue;
    try {
      const prepared = await prepareHealthCheck(ctx, box, labHealthCheck(ctx, file), OPEN);
      const r = await ctx.store.tx(async (t) => {
        await lockTestbox(t, box.hostname);
        // still out since the same time, and no check queued meanwhile (by another server's sweep)
        const current = await getTestbox(t.db, box.hostname);
        if (!current || current.disabled_at == null || Number(current.disabled_at) !== since || (await healthCheckSince(t.db, box.hostname, since))) return null;
        return insertHealthCheck(ctx, t, current, prepared, `the lab (lab.yaml health_check: ${file})`);
      });
      if (r) {
        queued.push({ testbox: box.hostname, job: r.job_id });
        ctx.log.info({ testbox: box.hostname, job: r.job_id, file, disabled: box.disabled_reason }, "the lab's health check queued on a box out of dispatch");
      }
    } catch (err) {
      seen.add(episode);
      ctx.log.error({ testbox: box.hostname, file, err: (err as Error).message }, `the lab's health check (${file}) could not be queued; the box waits for an admin`);
    }
  }
  return queued;
}
