// The scheduler: one object per server process holding the store and the
// config, with every operation the API offers. Stateless across processes:
// all it knows is in the database.
import { NotFoundError } from '../errors.ts';
import type { LabConfig } from '../config.ts';
import type { Store } from '../store/db.ts';
import { getJob, listJobs, type JobFilter } from '../store/jobs.ts';
import { listEvents } from '../store/events.ts';
import { jobChannel } from '../store/notify.ts';
import { testboxByMac, type TestboxInfo } from '../store/testboxes.ts';
import { silentLog, type Ctx, type Log } from './context.ts';
import { Background } from '../util/background.ts';
import { SchedulerMetrics } from './metrics.ts';
import { dryRun, submitJobs } from './submit.ts';
import { nextJob, type Assignment } from './dispatch.ts';
import { closeJob, reportStage, saveResultFile } from './report.ts';
import { sweep, type SweepReport } from './sweeper.ts';
import { cancelJob } from './cancel.ts';
import { beat, enable, register, testboxStatus, type Credentials } from './testboxes.ts';
import { submitHealthCheck } from './health-checks.ts';
import { OPEN, type Caller } from './access.ts';
import { jobCgz } from './jobcgz.ts';
import { principalOf, type Principal } from '../store/credentials.ts';
import { timeline } from './views.ts';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { GitResolver } from '../stack/git.ts';
import { loadJob, loadJobs } from './loader.ts';
import { submitWarnings } from './waiting.ts';
import { buildDetail, buildList, type BuildFilter } from './build-views.ts';
import { saveArtifact } from './artifacts.ts';
import { Bisects } from './bisect/drive.ts';
import type { Build, DryRun, EventsPage, Job, SubmitResult, Testbox } from '../api/contract.ts';

const SWEEP_LOCK = 7_246_311;

export class Scheduler {
  readonly ctx: Ctx;
  /** Bisections in the lab, driven by this server while it holds their lease. */
  readonly bisects: Bisects;
  #sweepTimer: NodeJS.Timeout | undefined;
  /** Since when this server has heard heartbeats without a gap of its own (see sweep). */
  #hearingSince: number;
  #lastTick = 0;
  #sweeping: Promise<unknown> | undefined;

  constructor(store: Store, config: LabConfig, log: Log = silentLog, now: () => number = Date.now) {
    const git = new GitResolver(join(config.dataDir, 'git'), { fetchInterval: config.lab.policy.git_fetch_interval * 1000, fetchUrl: (url) => config.lab.fetchUrl(url) });
    this.ctx = { store, config, log, now, git, background: new Background(), metrics: new SchedulerMetrics(store, { now, testboxLostAfter: config.timing.testboxLostAfter }) };
    this.bisects = new Bisects(this.ctx);
    this.#hearingSince = now();
  }

  get store(): Store {
    return this.ctx.store;
  }

  /** Submits; a job no registered testbox can take is accepted with a warning (it would otherwise wait unseen until queue_timeout). */
  async submit(jobs: unknown[], caller: Caller = OPEN, idempotencyKey?: string): Promise<SubmitResult[]> {
    return submitWarnings(this.ctx, await submitJobs(this.ctx, jobs, caller, idempotencyKey));
  }

  /** What submit(jobs) would make, without making it. */
  dryRun(jobs: unknown[], caller: Caller = OPEN): Promise<DryRun> {
    return dryRun(this.ctx, jobs, caller);
  }

  job(id: number): Promise<Job> {
    return loadJob(this.ctx, id);
  }

  async jobs(filter: JobFilter): Promise<Job[]> {
    return loadJobs(this.ctx, await listJobs(this.ctx.store.db, filter));
  }

  /**
   * Timeline entries after event `after`; with waitMs, waits for the next
   * one (long-poll) so `submit -m` and `job wait` follow a job live.
   */
  async events(id: number, after: number, waitMs: number, signal?: AbortSignal): Promise<EventsPage> {
    const deadline = this.ctx.now() + Math.min(waitMs, this.ctx.config.timing.longPollMax);
    for (;;) {
      const seq = this.ctx.store.notifier.seq(jobChannel(id));
      const row = await getJob(this.ctx.store.db, id);
      if (!row) throw new NotFoundError('job', id);
      const rows = await listEvents(this.ctx.store.db, id, after);
      const left = deadline - this.ctx.now();
      if (rows.length > 0 || row.stage === 'finish' || left <= 0 || signal?.aborted) {
        const entries = timeline(rows).map((e, i) => ({ ...e, id: rows[i]!.id }));
        return { events: entries, job_stage: row.stage, job_health: row.health };
      }
      await this.ctx.store.notifier.wait(jobChannel(id), left, signal, seq);
    }
  }

  cancel(id: number, caller: Caller = OPEN): Promise<void> {
    return cancelJob(this.ctx, id, caller.kind === 'account' ? `cancelled by ${caller.name}` : 'cancelled by user', caller);
  }

  registerTestbox(info: TestboxInfo, cred: Credentials = {}) {
    return register(this.ctx, info, cred);
  }

  heartbeat(hostname: string, caller: Caller = OPEN, running?: number[]) {
    return beat(this.ctx, hostname, caller, running);
  }

  testboxByMac(mac: string) {
    return testboxByMac(this.ctx.store.db, mac);
  }

  testboxes(): Promise<Testbox[]> {
    return testboxStatus(this.ctx);
  }

  /** An admin brings a box that left dispatch back. */
  enableTestbox(hostname: string, caller: Caller = OPEN): Promise<Testbox> {
    return enable(this.ctx, hostname, caller);
  }

  /** An admin's health-check job for one box: passing, it brings the box back into dispatch. */
  healthCheck(hostname: string, job: unknown, caller: Caller = OPEN): Promise<SubmitResult> {
    return submitHealthCheck(this.ctx, hostname, job, caller);
  }

  next(hostname: string, waitMs: number, signal?: AbortSignal, caller: Caller = OPEN): Promise<Assignment | null> {
    return nextJob(this.ctx, hostname, waitMs, signal, caller);
  }

  reportStage(id: number, hostname: string, stage: string, caller: Caller = OPEN) {
    return reportStage(this.ctx, id, hostname, stage, caller);
  }

  saveResult(id: number, hostname: string, relPath: string, body: Readable, caller: Caller = OPEN) {
    return saveResultFile(this.ctx, id, hostname, relPath, body, caller);
  }

  saveArtifact(id: number, hostname: string, name: string, body: Readable, caller: Caller = OPEN) {
    return saveArtifact(this.ctx, id, hostname, name, body, caller);
  }

  jobCgz(id: number, caller: Caller = OPEN): Promise<Buffer> {
    return jobCgz(this.ctx, id, caller);
  }

  /** Who a token speaks for, or undefined for no valid token. */
  principal(token: string): Promise<Principal | undefined> {
    return principalOf(this.ctx.store.db, token);
  }

  builds(filter: BuildFilter): Promise<Build[]> {
    return buildList(this.ctx.store.db, filter);
  }

  build(key: string): Promise<Build> {
    return buildDetail(this.ctx.store.db, key);
  }

  close(id: number, hostname: string, health: string, caller: Caller = OPEN) {
    return closeJob(this.ctx, id, hostname, health, caller);
  }

  sweep(): Promise<SweepReport> {
    return sweep(this.ctx, this.#hearingSince);
  }

  /** Runs the sweeper every sweep interval until stop(), and drives the bisects no other server drives. */
  start(): void {
    if (this.#sweepTimer) return;
    void this.bisects.resume().catch((err: unknown) => this.ctx.log.error({ err }, 'cannot resume bisects'));
    this.#hearingSince = this.ctx.now();
    this.#lastTick = performance.now();
    const interval = this.ctx.config.timing.sweepInterval;
    this.#sweepTimer = setInterval(() => {
      // A tick much later than due means this process stalled: heartbeats may have queued unheard meanwhile.
      const tick = performance.now();
      if (tick - this.#lastTick > 2 * interval + 1000) {
        this.ctx.log.warn({ stalled_ms: Math.round(tick - this.#lastTick - interval) }, 'the server stalled; testboxes get a full window to be heard again');
        this.#hearingSince = this.ctx.now();
      }
      this.#lastTick = tick;
      if (this.#sweeping) return;
      // With several servers on one database, one of them sweeps at a time.
      this.#sweeping = this.ctx.store
        .exclusive(SWEEP_LOCK, async () => void (await this.sweep()))
        .then(() => this.bisects.resume())
        .catch((err: unknown) => this.ctx.log.error({ err }, 'sweep failed'))
        .finally(() => (this.#sweeping = undefined));
    }, this.ctx.config.timing.sweepInterval);
    this.#sweepTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    await this.#sweeping;
    await this.bisects.stop();
    await this.ctx.git.settle();
    await this.ctx.background.settle();
  }
}
