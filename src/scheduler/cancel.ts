// Cancel: a job not yet finished is finished with health cancel. A testbox
// running it learns from its next heartbeat and stops; builds it alone
// waited on, not yet started, are cancelled with it (finishInTx).
import { ConflictError, NotFoundError } from '../errors.ts';
import { getJob } from '../store/jobs.ts';
import type { Ctx } from './context.ts';
import { finishInTx } from './finish.ts';
import { mustOwn, OPEN, type Caller } from './access.ts';

export async function cancelJob(ctx: Ctx, id: number, reason = 'cancelled by user', caller: Caller = OPEN): Promise<void> {
  const outcome = await ctx.store.tx(async (t) => {
    const row = await getJob(t.db, id);
    if (!row) return 'missing' as const;
    mustOwn(caller, row.account, `job ${id}`);
    if (row.stage === 'finish') return row;
    await finishInTx(ctx, t, row, { health: 'cancel', detail: { reason, stage: row.stage } });
    return 'done' as const;
  });
  if (outcome === 'missing') throw new NotFoundError('job', id);
  if (outcome !== 'done') throw new ConflictError(`job ${id} already finished (${outcome.health})`, { job_id: id, job_health: outcome.health });
}
