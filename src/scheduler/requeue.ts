// Handing a job out again: a job a testbox was given but never started —
// still in boot, and the box says it does not have it (its heartbeat does
// not list it, or it registered again) — goes back to the queue, so a lost
// hand-over (a server killed while its answer was on the way) costs a
// retry, not the job. A pkgbuild job's build is queued again with it.
import { addEvent } from '../store/events.ts';
import type { Tx } from '../store/db.ts';
import type { JobRow } from '../store/jobs.ts';
import { jobChannel } from '../store/notify.ts';
import type { Ctx } from './context.ts';
import { signalWork } from './work.ts';

/** Puts a job held by `hostname` in boot back in the queue; false if it moved meanwhile. */
export async function requeueInTx(ctx: Ctx, t: Tx, row: JobRow, hostname: string, reason: string): Promise<boolean> {
  const now = ctx.now();
  const r = await t.db
    .updateTable('jobs')
    .set({ stage: 'submit', assigned: null, boot_time: null, deadline: null, job_token_sha256: null })
    .where('id', '=', row.id)
    .where('stage', '=', 'boot')
    .where('assigned', '=', hostname)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) return false;
  if (row.build_key) {
    await t.db.updateTable('builds').set({ state: 'queued', started_at: null }).where('key', '=', row.build_key).where('pkgbuild_job', '=', row.id).where('state', '=', 'building').execute();
  }
  await addEvent(t.db, row.id, 'requeue', now, { reason, testbox: hostname });
  t.notify(jobChannel(row.id));
  signalWork(t, [row]);
  t.after(() => ctx.log.info({ job: row.id, testbox: hostname, reason }, 'job handed out again'));
  return true;
}
