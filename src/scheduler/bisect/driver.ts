// The lab driver of the bisect engine (SPEC §7): a bisect submits its job
// with ss.<pkg>.commit set to the commits the engine names, through the
// normal submit path (so builds are shared and cached), as many at once as
// there are testboxes for the job, records each finished probe as a run,
// and ends with the engine's result.
//
// Everything the engine knows is its log, kept row by row in the database:
// a new round is written with the jobs it submits, and a run with the mark
// on its job, each in one transaction. After a restart the driver replays
// the log and carries on to the same answer. One server drives a bisect at
// a time, holding a lease it renews as it goes.
import { createBisect, next, record, replay, status, type Status } from '../../bisect/engine.ts';
import { parseRevList } from '../../bisect/dag.ts';
import type { BisectResult, BisectSpec, BisectState, Criterion, Dag, Direction, LogEntry } from '../../bisect/types.ts';
import { ConflictError, NotFoundError, UserError } from '../../errors.ts';
import { loadJobText } from '../../jobfile/index.ts';
import { tboxType } from '../../model/lifecycle.ts';
import { git } from '../../stack/git.ts';
import {
  addBisectJobs,
  appendLog,
  bisectJobs,
  endBisect,
  getBisect,
  insertBisect,
  leaseBisect,
  listBisects,
  readLog,
  releaseBisect,
  runningBisects,
  touchBisect,
  markRecorded,
  type BisectRow,
} from '../../store/bisects.ts';
import { getJob } from '../../store/jobs.ts';
import { listTestboxes } from '../../store/testboxes.ts';
import { jobChannel } from '../../store/notify.ts';
import type { Ctx } from '../context.ts';
import { cancelJob } from '../cancel.ts';
import { insertInTx, prepareJobs } from '../submit.ts';
import { observe } from './observe.ts';

export const bisectChannel = (id: number): string => `bisect:${id}`;

/** What a user asks for (POST /api/bisects, `stacklab bisect start`). */
export interface BisectRequest {
  /** The job: one job object, or a job file's YAML that expands to one job. */
  job: unknown;
  pkg: string;
  good: string | string[];
  bad: string;
  criterion?: Criterion;
  metric?: string;
  direction?: Direction;
  /** function: a stat that marks a commit bad when present and non-zero. */
  errid?: string;
  repeat?: number;
  max_runs?: number;
  /** Probes at once; default: the testboxes that can run the job. */
  slots?: number;
  first_parent?: boolean;
}

interface StoredRequest extends Omit<BisectRequest, 'job' | 'good'> {
  job: Record<string, unknown>;
  good: string[];
  good_refs: string[];
  bad_ref: string;
}

export interface CommitInfo {
  subject: string;
  author: string;
  date: string;
}

export interface BisectView {
  id: number;
  state: string;
  pkg: string;
  criterion: string;
  metric: string | null;
  direction: string | null;
  good: string[];
  bad: string;
  upstream_url: string;
  candidates: number;
  progress: Status & { log: number };
  jobs: { job_id: number; sha: string; round: number; recorded: boolean }[];
  result: (BisectResult & { commits: Record<string, CommitInfo> }) | null;
  error: string | null;
  request: Omit<StoredRequest, 'good' | 'bad_ref' | 'good_refs'> & { good: string[]; bad: string };
  created_at: string;
  finished_at: string | null;
}

const iso = (ms: number | null) => (ms == null ? null : new Date(Number(ms)).toISOString());

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

  async start(req: BisectRequest): Promise<BisectView> {
    const ctx = this.#ctx;
    const template = oneJob(req.job);
    const ss = template.ss as Record<string, Record<string, string> | null> | undefined;
    if (!ss || !(req.pkg in ss)) throw new UserError('bad_bisect', `the job has no ss.${req.pkg}: a lab bisect moves ss.${req.pkg}.commit`, { path: `ss.${req.pkg}` });
    const goods = (Array.isArray(req.good) ? req.good : [req.good]).map(String);
    if (goods.length === 0) throw new UserError('bad_bisect', 'at least one good commit is needed');
    const criterion: Criterion = req.criterion ?? (req.metric ? 'perf' : 'function');
    // The job as it would be submitted at the bad commit: checks it whole and finds the upstream.
    const atBad = withCommit(template, req.pkg, req.bad);
    const prepared = await prepareJobs(ctx, [atBad]);
    const build = prepared.stacks[0]!.find((b) => b.pkg === req.pkg)!;
    const url = build.url;
    const bad = build.sha;
    const good = await Promise.all(goods.map((g) => ctx.git.resolve(url, g)));
    if (good.includes(bad)) throw new UserError('bad_bisect', 'the bad commit is also given as good');
    const mirror = ctx.git.mirror(url);
    const revList = await git(['rev-list', '--parents', ...(req.first_parent ? ['--first-parent'] : []), bad, ...good.map((g) => `^${g}`), '--'], { cwd: mirror });
    if (revList.trim() === '') throw new UserError('bad_bisect', `${req.bad} is an ancestor of a good commit: nothing to bisect`);
    const dag: Dag = parseRevList(revList, { bad, good, firstParent: req.first_parent ?? false });
    const spec: BisectSpec = { criterion };
    if (criterion === 'perf') {
      if (!req.metric || !req.direction) throw new UserError('bad_bisect', 'perf bisection needs a metric (suite.key) and a direction (lower or higher is better)');
      spec.metric = req.metric;
      spec.direction = req.direction;
    }
    if (req.repeat !== undefined) spec.repeat = req.repeat;
    if (req.max_runs !== undefined) spec.maxRuns = req.max_runs;
    try {
      createBisect(dag, spec);
    } catch (err) {
      throw err instanceof RangeError ? new UserError('bad_bisect', err.message) : err;
    }
    const stored: StoredRequest = { ...req, job: template, criterion, good, good_refs: goods, bad_ref: req.bad, bad };
    const now = ctx.now();
    const id = await insertBisect(ctx.store.db, {
      state: 'running',
      pkg: req.pkg,
      criterion,
      request: JSON.stringify(stored),
      upstream_url: url,
      dag: JSON.stringify(dag),
      spec: JSON.stringify(spec),
      created_at: now,
      updated_at: now,
    });
    ctx.log.info({ bisect: id, pkg: req.pkg, criterion, candidates: dag.commits.length }, 'bisect started');
    this.#drive(id);
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
    return leaseBisect(this.#ctx.store.db, id, this.#ctx.store.origin, now, now + this.#leaseMs);
  }

  async #loop(id: number): Promise<void> {
    const ctx = this.#ctx;
    const db = ctx.store.db;
    // On SQLite this is the only server: a lease left by a process that died is ours at once.
    if (ctx.store.dialect === 'sqlite') await db.updateTable('bisects').set({ driver: null }).where('id', '=', id).where('state', '=', 'running').execute();
    let state: BisectState | undefined;
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      if (!(await this.#lease(id))) return; // another server drives it, or it ended
      const row = (await getBisect(db, id))!;
      if (row.state !== 'running') return;
      const req = JSON.parse(row.request) as StoredRequest;
      try {
        state ??= replay(JSON.parse(row.dag) as Dag, JSON.parse(row.spec) as BisectSpec, (await readLog(db, id)).map((e) => JSON.parse(e) as LogEntry));
        await this.#recordFinished(id, state, req);
        const step = next(state, req.slots ?? (await this.#slots(req)), { cacheRank: await this.#cacheRank(req) });
        if ('done' in step) {
          await this.#finish(id, row, step.done);
          return;
        }
        const open = await this.#submitOwed(id, state, req, 'probes' in step ? step.probes : step.wait);
        failures = 0;
        await this.#waitForAny(open, id);
      } catch (err) {
        // Rebuild from the database: what is there is the truth.
        state = undefined;
        if (err instanceof UserError && ++failures >= 3) {
          if (await endBisect(db, id, 'failed', ctx.now(), undefined, err.message)) ctx.store.notifier.emit(bisectChannel(id));
          return;
        }
        ctx.log.warn({ err, bisect: id }, 'bisect step failed; retrying');
        await sleep(Math.min(10_000, 500 * 2 ** Math.min(failures, 5)), this.#stop.signal);
      }
    }
    await releaseBisect(db, id, ctx.store.origin).catch(() => {});
  }

  /** Every finished probe job not yet in the log: its observation, appended with its mark, one transaction each. */
  async #recordFinished(id: number, state: BisectState, req: StoredRequest): Promise<void> {
    const ctx = this.#ctx;
    for (const bj of await bisectJobs(ctx.store.db, id)) {
      if (bj.recorded) continue;
      const job = await getJob(ctx.store.db, bj.job_id);
      if (!job || job.stage !== 'finish') continue;
      const obs = observe(
        { job_health: job.health, stats: job.stats ? (JSON.parse(job.stats) as Record<string, number>) : null, dep_failure: job.dep_failure ? JSON.parse(job.dep_failure) : null },
        { criterion: req.criterion!, metric: req.metric, errid: req.errid },
      );
      const entry: LogEntry = { kind: 'run', sha: bj.sha, obs };
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

  /** Submits the runs a step owes that no job is running for yet, with the round's log entry, in one transaction. */
  async #submitOwed(id: number, state: BisectState, req: StoredRequest, probes: { sha: string; runs: number }[]): Promise<number[]> {
    const ctx = this.#ctx;
    const jobs = await bisectJobs(ctx.store.db, id);
    const open = jobs.filter((j) => !j.recorded);
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
    const submitted = await ctx.store.tx(async (t) => {
      await appendLog(t.db, id, persisted, newEntries);
      const results = prepared ? await insertInTx(ctx, t, prepared) : [];
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
    // Re-check once before sleeping: a job may have finished since it was read.
    const finished = await Promise.all(jobIds.map((j) => getJob(this.#ctx.store.db, j)));
    if (finished.some((j) => j?.stage === 'finish')) return;
    try {
      await Promise.race([
        ...jobIds.map((j, i) => n.wait(jobChannel(j), this.#leaseMs / 3, ac.signal, seqs[i])),
        n.wait(bisectChannel(id), this.#leaseMs / 3, ac.signal),
      ]);
    } finally {
      ac.abort();
      this.#stop.signal.removeEventListener('abort', onStop);
    }
  }

  /** How many probes at once: the live testboxes of the job's type and arch (at least one). */
  async #slots(req: StoredRequest): Promise<number> {
    const d = this.#ctx.config.defaults;
    const type = tboxType(String(req.job.testbox ?? d.testbox));
    const arch = String(req.job.os_arch ?? d.os_arch);
    const now = this.#ctx.now();
    const boxes = (await listTestboxes(this.#ctx.store.db)).filter((b) => b.type === type && b.arch === arch && now - Number(b.last_heartbeat) <= this.#ctx.config.timing.testboxLostAfter);
    return Math.max(1, boxes.length);
  }

  /**
   * Commits of the package whose build with the job's config and parameters
   * is known: built, or failed recently enough that the lab remembers it.
   * Probing them builds nothing, so they win near-ties, the earliest built
   * first (a repeated bisect then retraces its path over the cache).
   */
  async #cacheRank(req: StoredRequest): Promise<(sha: string) => number | undefined> {
    const entry = ((req.job.ss as Record<string, Record<string, string> | null>)[req.pkg] ?? {}) as Record<string, string>;
    const params = Object.fromEntries(Object.entries(entry).filter(([k]) => !['fork', 'commit', 'config', 'testbox'].includes(k) && !k.startsWith('_')));
    const remembered = this.#ctx.now() - this.#ctx.config.lab.policy.failed_build_ttl * 1000;
    const rows = await this.#ctx.store.db
      .selectFrom('builds')
      .select(['sha', 'config', 'params', 'state', 'created_at', 'finished_at'])
      .where('pkg', '=', req.pkg)
      .where('state', 'in', ['succeeded', 'failed'])
      .execute();
    const same = (p: string) => JSON.stringify(Object.entries(JSON.parse(p) as object).sort()) === JSON.stringify(Object.entries(params).sort());
    const known = rows.filter((r) => (r.config ?? null) === (entry.config ?? null) && same(r.params) && (r.state === 'succeeded' || Number(r.finished_at) >= remembered));
    const rank = new Map<string, number>();
    for (const r of known) rank.set(r.sha, Math.min(rank.get(r.sha) ?? Infinity, Number(r.created_at)));
    return (sha) => rank.get(sha);
  }

  async #finish(id: number, row: BisectRow, result: BisectResult): Promise<void> {
    const ctx = this.#ctx;
    const named = new Set([result.first_bad, result.parent, ...(result.candidates ?? []), ...result.evidence.map((e) => e.sha)].filter((s): s is string => !!s));
    const commits = await commitInfo(ctx.git.mirror(row.upstream_url), [...named]);
    if (await endBisect(ctx.store.db, id, 'done', ctx.now(), { ...result, commits })) {
      ctx.store.notifier.emit(bisectChannel(id));
      ctx.log.info({ bisect: id, first_bad: result.first_bad, confidence: result.confidence, rounds: result.rounds }, 'bisect done');
    }
  }

  async cancel(id: number): Promise<BisectView> {
    const ctx = this.#ctx;
    const row = await getBisect(ctx.store.db, id);
    if (!row) throw new NotFoundError('bisect', id);
    if (!(await endBisect(ctx.store.db, id, 'cancelled', ctx.now()))) throw new ConflictError(`bisect ${id} already ended (${row.state})`);
    for (const j of await bisectJobs(ctx.store.db, id)) if (!j.recorded) await cancelJob(ctx, j.job_id, `bisect ${id} cancelled`).catch(() => {});
    ctx.store.notifier.emit(bisectChannel(id));
    return this.view(id);
  }

  async list(limit?: number): Promise<BisectView[]> {
    return Promise.all((await listBisects(this.#ctx.store.db, limit)).map((r) => this.#view(r)));
  }

  /** The bisect; with waitMs, once its log grew past `seen` entries or it ended (a long-poll for progress). */
  async view(id: number, waitMs = 0, seen = -1, signal?: AbortSignal): Promise<BisectView> {
    const ctx = this.#ctx;
    const deadline = ctx.now() + Math.min(waitMs, ctx.config.timing.longPollMax);
    for (;;) {
      const seq = ctx.store.notifier.seq(bisectChannel(id));
      const row = await getBisect(ctx.store.db, id);
      if (!row) throw new NotFoundError('bisect', id);
      const v = await this.#view(row);
      const left = deadline - ctx.now();
      if (v.progress.log > seen || row.state !== 'running' || left <= 0 || signal?.aborted) return v;
      await ctx.store.notifier.wait(bisectChannel(id), left, signal, seq);
    }
  }

  async #view(row: BisectRow): Promise<BisectView> {
    const db = this.#ctx.store.db;
    const req = JSON.parse(row.request) as StoredRequest;
    const dag = JSON.parse(row.dag) as Dag;
    const log = (await readLog(db, row.id)).map((e) => JSON.parse(e) as LogEntry);
    const st = status(replay(dag, JSON.parse(row.spec) as BisectSpec, log));
    const jobs = (await bisectJobs(db, row.id)).map((j) => ({ job_id: j.job_id, sha: j.sha, round: j.round, recorded: j.recorded === 1 }));
    const { good_refs, bad_ref, ...rest } = req;
    return {
      id: row.id,
      state: row.state,
      pkg: row.pkg,
      criterion: row.criterion,
      metric: req.metric ?? null,
      direction: req.direction ?? null,
      good: req.good,
      bad: req.bad,
      upstream_url: row.upstream_url,
      candidates: dag.commits.length,
      progress: { ...st, log: log.length },
      jobs,
      result: row.result ? (JSON.parse(row.result) as BisectView['result']) : null,
      error: row.error,
      request: { ...rest, good: good_refs, bad: bad_ref },
      created_at: iso(row.created_at)!,
      finished_at: iso(row.finished_at),
    };
  }
}

/** The one job of a request body: an object, or YAML that expands to exactly one job. */
function oneJob(job: unknown): Record<string, unknown> {
  if (typeof job === 'string') {
    const loaded = loadJobText(job, 'job').jobs;
    if (loaded.length !== 1) throw new UserError('bad_bisect', `the job file expands to ${loaded.length} jobs; a bisect needs exactly one`);
    return loaded[0]!;
  }
  if (!job || typeof job !== 'object' || Array.isArray(job)) throw new UserError('bad_bisect', 'job must be one job object (or its YAML)');
  return job as Record<string, unknown>;
}

/** The job with ss.<pkg>.commit set (and, for probes, labelled with its bisect). */
function withCommit(job: Record<string, unknown>, pkg: string, commit: string, bisect?: number): Record<string, unknown> {
  const ss = structuredClone(job.ss) as Record<string, Record<string, string> | null>;
  ss[pkg] = { ...(ss[pkg] ?? {}), commit };
  const labels = bisect === undefined ? job.labels : { ...((job.labels as object) ?? {}), bisect };
  return { ...job, ss, ...(labels === undefined ? {} : { labels }) };
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

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

