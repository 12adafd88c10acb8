// A lab bisect as the API, the CLI and the dashboard show it (api/contract's
// Bisect): its request, progress (the engine's status after replaying its
// log), probe jobs and result. With a wait, answers once its log grew past
// what the caller has seen, or it ended: a long-poll for progress.
import { replay, status } from '../../bisect/engine.ts';
import type { Bisect, BisectProbe } from '../../api/contract.ts';
import type { Dag, Observation } from '../../bisect/types.ts';
import { historyOrder } from '../../bisect/history.ts';
import { NotFoundError } from '../../errors.ts';
import { bisectProbes, getBisect, listBisects, readLog, type BisectRow, type StoredBisectResult } from '../../store/bisects.ts';
import type { Ctx } from '../context.ts';
import { iso } from '../views.ts';
import { bisectChannel } from './start.ts';

async function bisectView(ctx: Ctx, row: BisectRow): Promise<Bisect> {
  const db = ctx.store.db;
  const log = await readLog(db, row.id);
  const st = status(replay(row.dag, row.spec, log));
  const said = new Map<number, Observation>();
  for (const e of log) if (e.kind === 'run' && e.job !== undefined) said.set(e.job, e.obs);
  const jobs = (await bisectProbes(db, row.id)).map((j): BisectProbe => {
    const probe: BisectProbe = { job_id: j.job_id, sha: j.sha, round: j.round, recorded: j.recorded === 1, stage: j.stage, testbox: j.assigned ?? j.pinned_host };
    const obs = said.get(j.job_id);
    if (obs) {
      probe.outcome = obs.outcome;
      if (obs.value !== undefined) probe.value = obs.value;
    }
    return probe;
  });
  const { good_refs, bad_ref, ...rest } = row.request;
  return {
    id: row.id,
    state: row.state,
    pkg: row.pkg,
    criterion: row.request.criterion,
    metric: row.request.metric ?? null,
    direction: row.request.direction ?? null,
    good: row.request.good,
    bad: row.request.bad,
    upstream_url: row.upstream_url,
    candidates: row.dag.commits.length,
    progress: { ...st, log: log.length },
    jobs,
    result: row.result === null ? null : withDepth(row.result, row.dag),
    error: row.error,
    request: { ...rest, good: good_refs, bad: bad_ref },
    created_at: iso(row.created_at)!,
    finished_at: iso(row.finished_at),
  };
}

/** The result with each evidence's branch depth, so a reader without the candidate graph can indent merged branches. */
function withDepth(result: StoredBisectResult, dag: Dag): StoredBisectResult {
  const depth = new Map(historyOrder(dag).map((e) => [e.sha, e.depth] as const));
  return { ...result, evidence: result.evidence.map((e) => ((depth.get(e.sha) ?? 0) > 0 ? { ...e, depth: depth.get(e.sha)! } : e)) };
}

/** The bisect; with waitMs, once its log grew past `seen` entries or it ended. */
export async function viewBisect(ctx: Ctx, id: number, waitMs = 0, seen = -1, signal?: AbortSignal): Promise<Bisect> {
  const deadline = ctx.now() + Math.min(waitMs, ctx.config.timing.longPollMax);
  for (;;) {
    const seq = ctx.store.notifier.seq(bisectChannel(id));
    const row = await getBisect(ctx.store.db, id);
    if (!row) throw new NotFoundError('bisect', id);
    const v = await bisectView(ctx, row);
    const left = deadline - ctx.now();
    if (v.progress.log > seen || row.state !== 'running' || left <= 0 || signal?.aborted) return v;
    await ctx.store.notifier.wait(bisectChannel(id), left, signal, seq);
  }
}

export async function listBisectViews(ctx: Ctx, limit?: number): Promise<Bisect[]> {
  return Promise.all((await listBisects(ctx.store.db, limit)).map((r) => bisectView(ctx, r)));
}
