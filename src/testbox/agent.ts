// The testbox agent: the connection to the scheduler. It registers,
// heartbeats (stopping a job the scheduler no longer gives it), long-polls
// for work with as many loops as it has slots, and hands each assignment to
// runAssignment (job-run.ts) with a reporter and a runtime.
import { hostname as osHostname, cpus as osCpus, totalmem } from 'node:os';
import { mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ApiClient, ApiError } from '../api/client.ts';
import type { Assignment, HeartbeatReply, Registered } from '../api/contract.ts';
import { hostArch } from '../config.ts';
import { killGroup } from '../util/process-group.ts';
import { backoff, sleep } from '../util/sleep.ts';
import type { Log } from '../util/log.ts';
import { ProcessRuntime } from '../runtime/process.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { ArtifactCache } from './artifact-cache.ts';
import { HttpReporter, type JobReporter } from './reporter.ts';
import { runAssignment } from './job-run.ts';
import { RetryingReporter } from './retrying-reporter.ts';
import { findDefaultKernel, runVmAssignment, type DefaultKernel, type VmRunOptions } from './vm-run.ts';
import type { Accel } from '../vm/qemu.ts';

/** Seconds past a job's runtime that its reports keep being tried while the server cannot be reached. */
const REPORT_PATIENCE_S = 1800;

export interface AgentOptions {
  server: string;
  hostname?: string | undefined;
  type?: 'dc' | 'vm' | 'hw' | undefined;
  arch?: string | undefined;
  /** GiB the box offers. */
  memory?: number | undefined;
  cpus?: number | undefined;
  /** Jobs run at once. */
  slots?: number | undefined;
  /** For vm/hw boxes that boot from /boot.ipxe?mac=. */
  mac?: string | undefined;
  workdir: string;
  /** Keep each job's directory after it finished (for debugging). */
  keep?: boolean | undefined;
  /** Variables set for every build this box makes (`--build-env`): how recipes keep `$cachedir`; not part of a build key. */
  buildEnv?: Record<string, string> | undefined;
  log: Log;
  runtime?: Runtime | undefined;
  /** Long-poll duration, seconds. */
  pollWait?: number | undefined;
  /** The lab-issued secret it registers with (a lab with accounts on). */
  secret?: string | undefined;
  /** vm boxes: how jobs boot. */
  vm?: VmAgentOptions | undefined;
}

/** What a vm box is told on its command line (stacklab testbox --type vm). */
export interface VmAgentOptions {
  accel?: Accel | 'auto' | undefined;
  qemu?: string | undefined;
  /** The kernel for jobs that build none (default: the newest installed Debian kernel). */
  kernel?: string | undefined;
  /** Its modules initrd (with --kernel; default none: the NIC drivers are built in). */
  modules?: string | undefined;
  bootTimeoutS?: number | undefined;
  networkTimeoutS?: number | undefined;
}

export class Agent {
  readonly hostname: string;
  readonly client: ApiClient;
  readonly #o: Required<Omit<AgentOptions, 'hostname' | 'runtime' | 'mac' | 'secret' | 'vm'>> & { runtime: Runtime; mac: string | undefined; secret: string | undefined; vm: VmAgentOptions };
  readonly #stop = new AbortController();
  readonly #running = new Map<number, AbortController>();
  readonly #cache: ArtifactCache;
  readonly #reporter: JobReporter;
  #heartbeatInterval = 10_000;
  #loops: Promise<void>[] = [];
  #heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(opts: AgentOptions) {
    this.hostname = opts.hostname ?? `${osHostname()}-${opts.type ?? 'dc'}`;
    this.client = new ApiClient(opts.server);
    this.#o = {
      server: opts.server,
      type: opts.type ?? 'dc',
      arch: opts.arch ?? hostArch(),
      memory: opts.memory ?? Math.floor(totalmem() / 1024 ** 3),
      cpus: opts.cpus ?? osCpus().length,
      slots: opts.slots ?? 1,
      mac: opts.mac,
      workdir: opts.workdir,
      keep: opts.keep ?? false,
      buildEnv: opts.buildEnv ?? {},
      log: opts.log,
      runtime: opts.runtime ?? new ProcessRuntime(),
      pollWait: opts.pollWait ?? 30,
      secret: opts.secret,
      vm: opts.vm ?? {},
    };
    this.#cache = new ArtifactCache(join(opts.workdir, 'cache'));
    this.#reporter = new HttpReporter(this.client, this.hostname);
  }

  async start(): Promise<void> {
    await mkdir(join(this.#o.workdir, 'jobs'), { recursive: true });
    await this.#reapLeftovers();
    await this.#register();
    this.#heartbeatTimer = setInterval(() => void this.#heartbeat(), this.#heartbeatInterval);
    for (let i = 0; i < this.#o.slots; i++) this.#loops.push(this.#loop());
  }

  /** Stops asking for work, kills what runs and waits for the loops to end. */
  async stop(): Promise<void> {
    this.#stop.abort();
    clearInterval(this.#heartbeatTimer);
    for (const ac of this.#running.values()) ac.abort();
    await Promise.allSettled(this.#loops);
  }

  /** Where the box keeps its token, so a restart proves it is the same box. */
  get #tokenFile(): string {
    return join(this.#o.workdir, 'token');
  }

  async #register(): Promise<void> {
    const previous = await readFile(this.#tokenFile, 'utf8').then((t) => t.trim(), () => undefined);
    for (let attempt = 0; !this.#stop.signal.aborted; attempt++) {
      try {
        this.client.token = undefined; // registration is authenticated by the secret
        const r = await this.client.post<Registered>('/api/testboxes/register', {
          hostname: this.hostname,
          type: this.#o.type,
          arch: this.#o.arch,
          max_memory: this.#o.memory,
          cpus: this.#o.cpus,
          ...(this.#o.mac ? { mac: this.#o.mac } : {}),
          ...(Object.keys(this.#o.buildEnv).length ? { build_env: this.#o.buildEnv } : {}),
          ...(this.#o.secret ? { secret: this.#o.secret } : {}),
          ...(previous ? { token: previous } : {}),
        });
        this.#heartbeatInterval = r.heartbeat_interval;
        if (r.token) {
          this.client.token = r.token;
          await writeFile(this.#tokenFile, `${r.token}\n`, { mode: 0o600 });
        }
        if (r.ended.length > 0) this.#o.log.warn({ jobs: r.ended }, 'the jobs of this box before its restart were ended');
        this.#o.log.info({ testbox: this.hostname, server: this.#o.server }, 'registered');
        return;
      } catch (err) {
        if (err instanceof ApiError) throw err; // refused: retrying will not help
        this.#o.log.warn({ err: (err as Error).message }, 'server unreachable; retrying registration');
        await sleep(backoff(attempt, 200, 5000), this.#stop.signal);
      }
    }
  }

  async #heartbeat(): Promise<void> {
    try {
      const { jobs } = await this.client.post<HeartbeatReply>(`/api/testboxes/${this.hostname}/heartbeat`, { running: [...this.#running.keys()] });
      // A job we run that the scheduler no longer gives us was cancelled or timed out.
      for (const [id, ac] of this.#running) {
        if (!jobs.includes(id)) {
          this.#o.log.info({ job: id }, 'scheduler dropped the job; stopping it');
          ac.abort();
        }
      }
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) await this.#register().catch(() => {});
      else this.#o.log.warn({ err: (err as Error).message }, 'heartbeat failed');
    }
  }

  async #loop(): Promise<void> {
    let failures = 0;
    while (!this.#stop.signal.aborted) {
      try {
        const res = await this.client.raw('GET', `/api/testboxes/${this.hostname}/next`, {
          query: { wait: this.#o.pollWait },
          signal: this.#stop.signal,
        });
        failures = 0;
        if (res.status === 204) continue;
        await this.#run((await res.json()) as Assignment);
      } catch (err) {
        if (this.#stop.signal.aborted) break;
        if (err instanceof ApiError && err.status === 404) await this.#register().catch(() => {});
        else this.#o.log.warn({ err: (err as Error).message }, 'asking for work failed');
        await sleep(backoff(failures++, 200, 5000), this.#stop.signal);
      }
    }
  }

  /** Runs one assigned job to its close. Errors of our own close the job abnormal. */
  async #run(a: Assignment): Promise<void> {
    const id = a.job.id;
    const ac = new AbortController();
    this.#running.set(id, ac);
    const dir = join(this.#o.workdir, 'jobs', String(id));
    const log = this.#o.log;
    log.info({ job: id, suite: a.job.suite }, 'job started');
    // Reports outlast a server restart: tried again until the job could have run and reported twice over.
    const patienceMs = (Number(a.job.runtime ?? 3600) + REPORT_PATIENCE_S) * 1000;
    const reporter = new RetryingReporter(this.#reporter, { patienceMs, signal: ac.signal, log });
    try {
      const context = { dir, reporter, runtime: this.#o.runtime, cache: this.#cache, gitCacheDir: join(this.#o.workdir, 'git'), pkgCacheDir: join(this.#o.workdir, 'pkgcache'), buildEnv: this.#o.buildEnv, log, signal: ac.signal };
      const health = this.#o.type === 'vm' && a.job.suite !== 'pkgbuild' ? await runVmAssignment(a, context, this.#vmOptions()) : await runAssignment(a, context);
      if (health === null) log.info({ job: id }, 'job stopped (the scheduler dropped it)');
      else log.info({ job: id, health }, 'job finished');
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        log.info({ job: id, reason: err.message }, 'job no longer ours');
        return;
      }
      log.error({ job: id, err: (err as Error).message }, 'job failed on the testbox');
      await reporter.close(id, 'abnormal').catch(() => {});
    } finally {
      this.#running.delete(id);
      if (!this.#o.keep) await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }

  #defaultKernel: Promise<DefaultKernel | undefined> | undefined;

  #vmOptions(): VmRunOptions {
    const v = this.#o.vm;
    return {
      server: this.#o.server,
      testbox: this.hostname,
      arch: this.#o.arch,
      accel: v.accel ?? 'auto',
      qemu: v.qemu,
      defaultKernel: () => (this.#defaultKernel ??= findDefaultKernel({ vmlinuz: v.kernel, modules: v.modules, cacheDir: this.#cache.dir })),
      bootTimeoutMs: (v.bootTimeoutS ?? 180) * 1000,
      networkTimeoutMs: (v.networkTimeoutS ?? 60) * 1000,
    };
  }

  /** Kills process groups a previous, dead agent left running in this workdir. */
  async #reapLeftovers(): Promise<void> {
    const jobs = join(this.#o.workdir, 'jobs');
    for (const name of await readdir(jobs).catch(() => [] as string[])) {
      const pid = Number(await readFile(join(jobs, name, 'pid'), 'utf8').catch(() => ''));
      // A pid from a dead agent may since belong to anyone: only a process
      // still working in that job's directory is one of ours.
      const cwd = pid > 1 ? await readlink(`/proc/${pid}/cwd`).catch(() => '') : '';
      if (cwd !== '' && !relative(join(jobs, name), cwd).startsWith('..')) killGroup(pid, 'SIGKILL');
      await rm(join(jobs, name), { recursive: true, force: true });
    }
  }
}
