// Driving lab bisects (SPEC §7): a bisect submits its job with
// ss.<pkg>.commit set to the commits the engine names, through the normal
// submit path (so builds are shared and cached), as many at once as there
// are testboxes for the job, records each finished probe as a run, and ends
// with the engine's result.
//
// Everything the engine knows is its log, kept row by row in the database.
// Every transition is one transaction with its signal on the bisect's
// channel (so followers on any server wake): a round with the jobs it
// submits (only while the bisect runs), a run with the mark on its job, the
// end with its result, a cancel with its probe jobs. After a restart the
// driver replays the log and carries on to the same answer. One server
// drives a bisect at a time, holding a lease it renews as it goes.
import { next, record, replay } from '../../bisect/engine.ts';
import type { BisectResult, BisectState, LogEntry } from '../../bisect/types.ts';
import type { Bisect, BisectRequest, CommitInfo } from '../../api/contract.ts';
import { ConflictError, NotFoundError, UserError } from '../../errors.ts';
import { tboxType } from '../../model/lifecycle.ts';
import { git } from '../../stack/git.ts';
import { SS_RESERVED } from '../../stack/resolve.ts';
import {
  addBisectJobs,
  appendLog,
  bisectJobs,
  bisectProbes,
  endBisect,
  getBisect,
  isRunningForUpdate,
  leaseBisect,
  markRecorded,
  readLog,
  releaseBisect,
  runningBisects,
  touchBisect,
  type BisectProbeRow,
  type BisectRow,
  type StoredBisectRequest,
} from '../../store/bisects.ts';
import { knownBuilds } from '../../store/builds.ts';
import { getJob, pinJob, unpinJobs } from '../../store/jobs.ts';
import { listTestboxes } from '../../store/testboxes.ts';
import { jobChannel } from '../../store/notify.ts';
import { backoff, sleep } from '../../util/sleep.ts';
import type { Ctx } from '../context.ts';
import { finishInTx } from '../finish.ts';
import { insertInTx, prepareJobs } from '../submit.ts';
import { observe, withInfraLimit } from './observe.ts';
import { spreadSamples } from './spread.ts';
import { signalWork } from '../work.ts';
import { mustOwn, OPEN, type Caller } from '../access.ts';
import { bisectChannel, startBisect, withCommit } from './start.ts';
import { listBisectViews, viewBisect } from './view.ts';

/** After this many user errors in a row (a job that no longer submits, say) a bisect fails. */
const USER_ERRORS_BEFORE_FAILING = 3;

export class Bisects {
  readonly #ctx: Ctx;
  readonly #driving = new Map<number, Promise<void>>();
  readonly #stop = new AbortController();

  constructor(ctx: Ctx) {
    this.#ctx = ctx;
  }

  /** How long a driver's lease lasts: a few sweeps, within sensible bounds. */
  get #leaseMs(): number {
    return Math.min(60_000, Math.max(2_000, 10 * this.#ctx.config.timing.sweepInterval));
  }

  async start(req: BisectRequest, caller: Caller = OPEN): Promise<Bisect> {
    const id = await startBisect(this.#ctx, req, caller);
    this.#drive(id);
    return this.view(id);
  }

  view(id: number, waitMs = 0, seen = -1, signal?: AbortSignal): Promise<Bisect> {
    return viewBisect(this.#ctx, id, waitMs, seen, signal);
  }

  list(limit?: number): Promise<Bisect[]> {
    return listBisectViews(this.#ctx, limit);
  }

  /** Ends a running bisect and cancels its probe jobs, in one transaction. */
  async cancel(id: number, caller: Caller = OPEN): Promise<Bisect> {
    const ctx = this.#ctx;
    const outcome = await ctx.store.tx(async (t) => {
      const row = await getBisect(t.db, id);
      if (!row) return { missing: true } as const;
      mustOwn(caller, row.account ?? (row.request.job.my_account as string | undefined) ?? null, `bisect ${id}`);
      if (!(await endBisect(t.db, id, 'cancelled', ctx.now()))) return { ended: row.state };
      for (const j of await bisectJobs(t.db, id)) {
        if (j.recorded) continue;
        const job = await getJob(t.db, j.job_id);
        if (job && job.stage !== 'finish') await finishInTx(ctx, t, job, { health: 'cancel', detail: { reason: `bisect ${id} cancelled`, stage: job.stage } });
      }
      t.notify(bisectChannel(id));
      return { cancelled: true } as const;
    });
    if ('missing' in outcome) throw new NotFoundError('bisect', id);
    if ('ended' in outcome) throw new ConflictError(`bisect ${id} already ended (${outcome.ended})`);
    return this.view(id);
  }

  /** Takes up running bisects no live server drives (at start, and on every sweep). */
  async resume(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    for (const id of await runningBisects(this.#ctx.store.db)) if (!this.#driving.has(id)) this.#drive(id);
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled([...this.#driving.values()]);
  }

  #drive(id: number): void {
    const run = this.#loop(id)
      .catch((err: unknown) => this.#ctx.log.error({ err, bisect: id }, 'bisect driver stopped'))
      .finally(() => this.#driving.delete(id));
    this.#driving.set(id, run);
  }

  async #lease(id: number): Promise<boolean> {
    const now = this.#ctx.now();
    return this.#ctx.store.tx((t) => leaseBisect(t, id, this.#ctx.store.origin, now, now + this.#leaseMs));
  }

  async #loop(id: number): Promise<void> {
    const ctx = this.#ctx;
    let state: BisectState | undefined;
    let failures = 0;
    let userErrors = 0;
    while (!this.#stop.signal.aborted) {
      try {
        if (!(await this.#lease(id))) return; // another server drives it, or it ended
        const row = (await getBisect(ctx.store.db, id))!;
        if (row.state !== 'running') return;
        const req = row.request;
        state ??= replay(row.dag, row.spec, await readLog(ctx.store.db, id));
        await this.#recordFinished(id, state, req);
        const boxes = await this.#liveBoxes(req);
        const step = next(state, req.slots ?? Math.max(1, boxes.length), { cacheRank: await this.#cacheRank(req) });
        if ('done' in step) {
          await this.#finish(id, row, step.done);
          return;
        }
        const open = await this.#submitOwed(id, state, req, 'probes' in step ? step.probes : step.wait, boxes, req.criterion === 'perf');
        failures = 0;
        userErrors = 0;
        await this.#waitForAny(open, id);
      } catch (err) {
        // Rebuild from the database: what is there is the truth.
        state = undefined;
        if (err instanceof UserError && ++userErrors >= USER_ERRORS_BEFORE_FAILING) {
          await ctx.store.tx(async (t) => {
            if (await endBisect(t.db, id, 'failed', ctx.now(), undefined, err.message)) t.notify(bisectChannel(id));
          });
          return;
        }
        // Anything else (git, the database) may pass: retry, each time waiting longer.
        const delay = backoff(failures++, 500, 10_000);
        ctx.log.warn({ err, bisect: id, retry_in_ms: delay }, 'bisect step failed; retrying');
        await sleep(delay, this.#stop.signal);
      }
    }
    await releaseBisect(ctx.store.db, id, ctx.store.origin).catch(() => {});
  }

  /** Every finished probe job not yet in the log: its observation, appended with its mark, one transaction each. */
  async #recordFinished(id: number, state: BisectState, req: StoredBisectRequest): Promise<void> {
    const ctx = this.#ctx;
    for (const bj of await bisectJobs(ctx.store.db, id)) {
      if (bj.recorded) continue;
      const job = await getJob(ctx.store.db, bj.job_id);
      if (!job || job.stage !== 'finish') continue;
      const previous = state.log.flatMap((e) => (e.kind === 'run' && e.sha === bj.sha ? [e.obs] : []));
      const obs = withInfraLimit(observe({ job_health: job.health, stats: job.stats, dep_failure: job.dep_failure }, { criterion: req.criterion, metric: req.metric, errid: req.errid }), previous);
      const entry: LogEntry = { kind: 'run', sha: bj.sha, obs, job: bj.job_id };
      const seq = state.log.length;
      const ok = await ctx.store.tx(async (t) => {
        if (!(await markRecorded(t.db, bj.job_id))) return false;
        await appendLog(t.db, id, seq, [entry]);
        await touchBisect(t.db, id, ctx.now());
        t.notify(bisectChannel(id));
        return true;
      });
      if (ok) record(state, bj.sha, obs);
    }
  }

  /**
   * Submits the runs a step owes that no job is running for yet, with the
   * round's log entry, in one transaction — and nothing if the bisect ended
   * meanwhile (a cancel never leaves new probes behind).
   */
  async #submitOwed(id: number, state: BisectState, req: StoredBisectRequest, probes: { sha: string; runs: number }[], live: string[], spread: boolean): Promise<number[]> {
    const ctx = this.#ctx;
    const jobs = await bisectProbes(ctx.store.db, id);
    const open = jobs.filter((j) => !j.recorded);
    await this.#unpinLost(open, live);
    const persisted = (await readLog(ctx.store.db, id)).length;
    const newEntries = state.log.slice(persisted);
    const round = state.log.slice(0, persisted).filter((e) => e.kind === 'round').length + newEntries.filter((e) => e.kind === 'round').length;
    const wanted: string[] = [];
    for (const p of probes) {
      const running = open.filter((j) => j.sha === p.sha).length;
      for (let k = running; k < p.runs; k++) wanted.push(p.sha);
    }
    if (wanted.length === 0 && newEntries.length === 0) return open.map((j) => j.job_id);
    const prepared = wanted.length > 0 ? await prepareJobs(ctx, wanted.map((sha) => withCommit(req.job, req.pkg, sha, id))) : undefined;
    // perf: each sample pinned to a box, so a commit is measured on several (spread.ts)
    const pins = spreadSamples(spread ? live : [], wanted, jobs.map((j) => ({ sha: j.sha, box: j.assigned ?? j.pinned_host, open: !j.recorded })));
    const submitted = await ctx.store.tx(async (t) => {
      if (!(await isRunningForUpdate(t, id))) return [];
      await appendLog(t.db, id, persisted, newEntries);
      const results = prepared ? await insertInTx(ctx, t, prepared) : [];
      const pinned = results.filter((_, i) => pins[i] !== undefined);
      for (const [i, r] of results.entries()) if (pins[i] !== undefined) await pinJob(t.db, r.job_id, pins[i]);
      // a pinned job wakes every poller: the one box that may take it among them
      if (pinned.length > 0) signalWork(t, [{ ...this.#boxKind(req), pinned_host: pins.find((p) => p !== undefined)! }]);
      await addBisectJobs(t.db, results.map((r, i) => ({ job_id: r.job_id, bisect_id: id, sha: wanted[i]!, round })));
      await touchBisect(t.db, id, ctx.now());
      t.notify(bisectChannel(id));
      return results.map((r) => r.job_id);
    });
    return [...open.map((j) => j.job_id), ...submitted];
  }

  /** Waits until one of the jobs moves (its channel fires), the lease needs renewing, or the driver stops. */
  async #waitForAny(jobIds: number[], id: number): Promise<void> {
    const n = this.#ctx.store.notifier;
    const ac = new AbortController();
    const onStop = () => ac.abort();
    this.#stop.signal.addEventListener('abort', onStop, { once: true });
    const seqs = jobIds.map((j) => n.seq(jobChannel(j)));
    try {
      // Re-check once before sleeping: a job may have finished since it was read.
      const finished = await Promise.all(jobIds.map((j) => getJob(this.#ctx.store.db, j)));
      if (finished.some((j) => j?.stage === 'finish')) return;
      await Promise.race([
        ...jobIds.map((j, i) => n.wait(jobChannel(j), this.#leaseMs / 3, ac.signal, seqs[i])),
        n.wait(bisectChannel(id), this.#leaseMs / 3, ac.signal),
      ]);
    } finally {
      ac.abort();
      this.#stop.signal.removeEventListener('abort', onStop);
    }
  }

  /** The type and arch of testbox the probe jobs run on. */
  #boxKind(req: StoredBisectRequest): { tbox_type: string; arch: string } {
    const d = this.#ctx.config.defaults;
    return { tbox_type: tboxType(String(req.job.testbox ?? d.testbox)), arch: String(req.job.os_arch ?? d.os_arch) };
  }

  /** The live testboxes that can run the probe jobs, by name: how many probes at once, and where perf samples are spread. A box out of dispatch (testbox health) is not one. */
  async #liveBoxes(req: StoredBisectRequest): Promise<string[]> {
    const { tbox_type, arch } = this.#boxKind(req);
    const now = this.#ctx.now();
    const boxes = (await listTestboxes(this.#ctx.store.db)).filter((b) => b.type === tbox_type && b.arch === arch && b.disabled_reason == null && now - b.last_heartbeat <= this.#ctx.config.timing.testboxLostAfter);
    return boxes.map((b) => b.hostname).sort();
  }

  /** Queued probes pinned to a box that is no longer live may go to any box: a lost machine never stalls the bisect. */
  async #unpinLost(open: BisectProbeRow[], live: string[]): Promise<void> {
    const lost = [...new Set(open.filter((j) => j.stage === 'submit' && j.pinned_host !== null && !live.includes(j.pinned_host)).map((j) => j.pinned_host!))];
    if (lost.length === 0) return;
    await this.#ctx.store.tx(async (t) => {
      const freed = await unpinJobs(t.db, open.map((j) => j.job_id), lost);
      signalWork(t, freed);
    });
    this.#ctx.log.info({ boxes: lost }, 'bisect: probes pinned to lost testboxes may now go to any');
  }

  /**
   * Commits of the package whose build with the job's config and parameters
   * is known: built, or failed recently enough that the lab remembers it.
   * Probing them builds nothing, so they win near-ties, the earliest built
   * first (a repeated bisect then retraces its path over the cache).
   */
  async #cacheRank(req: StoredBisectRequest): Promise<(sha: string) => number | undefined> {
    const entry = ((req.job.ss as Record<string, Record<string, string> | null>)[req.pkg] ?? {}) as Record<string, string>;
    const params = Object.fromEntries(Object.entries(entry).filter(([k]) => !SS_RESERVED.has(k) && !k.startsWith('_')));
    const remembered = this.#ctx.now() - this.#ctx.config.lab.policy.failed_build_ttl * 1000;
    const same = (p: Record<string, string>) => JSON.stringify(Object.entries(p).sort()) === JSON.stringify(Object.entries(params).sort());
    const known = (await knownBuilds(this.#ctx.store.db, req.pkg)).filter(
      (r) => (r.config ?? null) === (entry.config ?? null) && same(r.params) && (r.state === 'succeeded' || Number(r.finished_at) >= remembered),
    );
    const rank = new Map<string, number>();
    for (const r of known) rank.set(r.commit, Math.min(rank.get(r.commit) ?? Infinity, r.created_at));
    return (sha) => rank.get(sha);
  }

  async #finish(id: number, row: BisectRow, result: BisectResult): Promise<void> {
    const ctx = this.#ctx;
    const named = new Set([result.first_bad, result.parent, ...(result.candidates ?? []), ...result.evidence.map((e) => e.sha)].filter((s): s is string => !!s));
    const commits = await commitInfo(ctx.git.mirror(row.upstream_url), [...named]);
    const ended = await ctx.store.tx(async (t) => {
      const ok = await endBisect(t.db, id, 'done', ctx.now(), { ...result, commits });
      if (ok) t.notify(bisectChannel(id));
      return ok;
    });
    if (ended) ctx.log.info({ bisect: id, first_bad: result.first_bad, confidence: result.confidence, rounds: result.rounds }, 'bisect done');
  }
}

async function commitInfo(mirror: string, shas: string[]): Promise<Record<string, CommitInfo>> {
  if (shas.length === 0) return {};
  const out = await git(['show', '-s', '--no-walk=unsorted', '--format=%H%x1f%s%x1f%an <%ae>%x1f%aI', ...shas, '--'], { cwd: mirror });
  const info: Record<string, CommitInfo> = {};
  for (const line of out.split('\n')) {
    const [sha, subject, author, date] = line.split('\x1f');
    if (sha && subject !== undefined) info[sha] = { subject, author: author ?? '', date: date ?? '' };
  }
  return info;
}
