// The testbox agent: registers, heartbeats, long-polls for work and runs each
// job it is handed (download, unpack, run the suite, derive stats, upload
// into the job's result root, close with the right health).
import { hostname as osHostname, cpus as osCpus, totalmem } from 'node:os';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ApiClient, ApiError } from '../api-client.ts';
import { hostArch } from '../config.ts';
import type { Assignment } from '../scheduler/dispatch.ts';
import type { PkgbuildSpec } from '../scheduler/builds.ts';
import { killGroup } from '../process-group.ts';
import { unpack } from '../artifacts/cgz.ts';
import { parseStats } from './stats.ts';
import { ProcessRuntime } from './runtimes/process.ts';
import type { Runtime, RunOutcome } from './runtimes/runtime.ts';
import type { Log } from '../scheduler/context.ts';
import { ArtifactCache, packageEnv } from './artifact-cache.ts';
import { runPkgbuild, type PkgbuildOutcome } from '../pkgbuild/runner.ts';

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
  log: Log;
  runtime?: Runtime | undefined;
  /** Long-poll duration, seconds. */
  pollWait?: number | undefined;
}

/** Environment variables a suite inherits from the agent; nothing else leaks in. */
const PASS_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SHELL'];

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export class Agent {
  readonly hostname: string;
  readonly client: ApiClient;
  readonly #o: Required<Omit<AgentOptions, 'hostname' | 'runtime' | 'mac'>> & { runtime: Runtime; mac: string | undefined };
  readonly #stop = new AbortController();
  readonly #running = new Map<number, AbortController>();
  readonly #cache: ArtifactCache;
  #heartbeatInterval = 10_000;
  #loops: Promise<void>[] = [];
  #heartbeatTimer: NodeJS.Timeout | undefined;

  constructor(opts: AgentOptions) {
    this.hostname = opts.hostname ?? `${osHostname()}-dc`;
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
      log: opts.log,
      runtime: opts.runtime ?? new ProcessRuntime(),
      pollWait: opts.pollWait ?? 30,
    };
    this.#cache = new ArtifactCache(join(opts.workdir, 'cache'));
  }

  get running(): number[] {
    return [...this.#running.keys()];
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

  async #register(): Promise<void> {
    for (let attempt = 0; !this.#stop.signal.aborted; attempt++) {
      try {
        const r = await this.client.post<{ heartbeat_interval: number }>('/api/testboxes/register', {
          hostname: this.hostname,
          type: this.#o.type,
          arch: this.#o.arch,
          max_memory: this.#o.memory,
          cpus: this.#o.cpus,
          ...(this.#o.mac ? { mac: this.#o.mac } : {}),
        });
        this.#heartbeatInterval = r.heartbeat_interval;
        this.#o.log.info({ testbox: this.hostname, server: this.#o.server }, 'registered');
        return;
      } catch (err) {
        if (err instanceof ApiError) throw err; // refused: retrying will not help
        this.#o.log.warn({ err: (err as Error).message }, 'server unreachable; retrying registration');
        await sleep(Math.min(5000, 200 * 2 ** attempt), this.#stop.signal);
      }
    }
  }

  async #heartbeat(): Promise<void> {
    try {
      const { jobs } = await this.client.post<{ jobs: number[] }>(`/api/testboxes/${this.hostname}/heartbeat`);
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
        await this.runJob((await res.json()) as Assignment);
      } catch (err) {
        if (this.#stop.signal.aborted) break;
        if (err instanceof ApiError && err.status === 404) await this.#register().catch(() => {});
        else this.#o.log.warn({ err: (err as Error).message }, 'asking for work failed');
        await sleep(Math.min(5000, 200 * 2 ** failures++), this.#stop.signal);
      }
    }
  }

  /** Runs one assigned job to its close. Errors of our own close the job abnormal. */
  async runJob(a: Assignment): Promise<void> {
    const id = a.job.id;
    const ac = new AbortController();
    this.#running.set(id, ac);
    const dir = join(this.#o.workdir, 'jobs', String(id));
    const log = this.#o.log;
    log.info({ job: id, suite: a.job.suite }, 'job started');
    try {
      await rm(dir, { recursive: true, force: true });
      await mkdir(join(dir, 'result'), { recursive: true });
      await this.client.download(a.job_cgz, join(dir, 'job.cgz'), ac.signal);
      await unpack(join(dir, 'job.cgz'), dir);
      // The job's ss packages: fetched by URL, checked against their sha256, unpacked once per build.
      const roots: { pkg: string; root: string }[] = [];
      for (const art of a.artifacts ?? []) {
        if (art.name === 'pkg.cgz') roots.push({ pkg: art.pkg, root: await this.#cache.tree(this.client, art) });
      }
      await this.#stage(id, 'running');
      const health = a.job.suite === 'pkgbuild' ? await this.#runBuild(a, dir, ac.signal) : await this.#runTest(a, dir, roots, ac.signal);
      if (health === null) {
        log.info({ job: id }, 'job stopped (the scheduler dropped it)');
        return;
      }
      await this.client.post(`/api/jobs/${id}/close`, { testbox: this.hostname, health });
      log.info({ job: id, health }, 'job finished');
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        log.info({ job: id, reason: err.message }, 'job no longer ours');
        return;
      }
      log.error({ job: id, err: (err as Error).message }, 'job failed on the testbox');
      await this.client.post(`/api/jobs/${id}/close`, { testbox: this.hostname, health: 'abnormal' }).catch(() => {});
    } finally {
      this.#running.delete(id);
      if (!this.#o.keep) await rm(dir, { recursive: true, force: true }).catch(() => {});
    }
  }

  async #stage(id: number, stage: string): Promise<void> {
    await this.client.post(`/api/jobs/${id}/stage`, { testbox: this.hostname, stage });
  }

  /** A test job: run the suite, derive stats, upload results; its health, or null if dropped. */
  async #runTest(a: Assignment, dir: string, roots: { pkg: string; root: string }[], signal: AbortSignal): Promise<string | null> {
    const outcome = await this.#runSuite(a, dir, roots, signal);
    if (outcome.aborted) return null;
    await this.#stage(a.job.id, 'post_run');
    await this.#uploadResults(a.job.id, dir);
    return outcome.timedOut ? 'timeout' : outcome.exitCode === 0 ? 'success' : 'failed';
  }

  /** A pkgbuild job: build, upload the artifacts and the log; the health tells the scheduler whom to blame. */
  async #runBuild(a: Assignment, dir: string, signal: AbortSignal): Promise<string | null> {
    const b = a.job.pkgbuild as PkgbuildSpec;
    const outcome: PkgbuildOutcome = await runPkgbuild({
      jobDir: dir,
      build: { pkg: b.pkg, fork: b.fork, upstream_url: b.upstream_url, commit: b.commit, config: b.config, params: b.params, build_key: b.build_key },
      gitCacheDir: join(this.#o.workdir, 'git'),
      outDir: join(dir, 'out'),
      logFile: join(dir, 'result', 'build.log'),
      timeoutMs: Number(a.job.runtime ?? 3600) * 1000,
      signal,
    });
    if (outcome.result === 'aborted') return null;
    await this.#stage(a.job.id, 'post_run');
    if (outcome.result === 'success') {
      for (const art of outcome.artifacts) {
        await this.client.upload(`/api/jobs/${a.job.id}/artifact/${art.name}`, art.file, { testbox: this.hostname });
      }
    }
    const summary = [
      `pkgbuild ${b.pkg} ${b.commit} (${b.commit_ref}) config=${b.config ?? '-'} key=${b.build_key}`,
      `result: ${outcome.result}${outcome.error ? ` — ${outcome.error}` : ''}`,
      ...outcome.artifacts.map((x) => `artifact ${x.name} ${x.size} bytes sha256 ${x.sha256}`),
      `build_seconds: ${(outcome.durationMs / 1000).toFixed(3)}`,
      ...(outcome.artifacts.length ? [`pkg_bytes: ${outcome.artifacts.reduce((n, x) => n + x.size, 0)}`] : []),
      '',
    ].join('\n');
    await writeFile(join(dir, 'output'), summary);
    await writeFile(join(dir, 'stats.json'), JSON.stringify(parseStats(summary, 'pkgbuild'), null, 1) + '\n');
    await this.#uploadResults(a.job.id, dir);
    const health: Record<PkgbuildOutcome['result'], string> = { success: 'success', failed: 'failed', infra: 'abnormal', timeout: 'timeout', aborted: 'abnormal' };
    return health[outcome.result];
  }

  #suiteEnv(a: Assignment, dir: string): Record<string, string> {
    const env: Record<string, string> = {};
    for (const k of PASS_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
    const params = (a.job[a.job.suite] ?? {}) as Record<string, unknown>;
    for (const [k, v] of Object.entries(params)) env[k] = v == null ? '' : String(v);
    env.STACKLAB_JOB_ID = String(a.job.id);
    env.STACKLAB_SUITE = a.job.suite;
    env.RESULT_ROOT = join(dir, 'result');
    return env;
  }

  async #runSuite(a: Assignment, dir: string, roots: { pkg: string; root: string }[], signal: AbortSignal): Promise<RunOutcome> {
    const suiteDir = join(dir, 'suite');
    const env = packageEnv(this.#suiteEnv(a, dir), roots);
    const runtimeMs = Number(a.job.runtime ?? 3600) * 1000;
    const outcome = await this.#o.runtime.run({
      command: join(suiteDir, 'run'),
      args: [],
      cwd: dir,
      env,
      timeoutMs: runtimeMs,
      outputFile: join(dir, 'output'),
      pidFile: join(dir, 'pid'),
      signal,
    });
    if (outcome.aborted) return outcome;
    if (outcome.timedOut) await writeFile(join(dir, 'output'), `\nstacklab: killed after runtime ${a.job.runtime} s\n`, { flag: 'a' });
    // Stats: the suite's parse reads the output on stdin; without one, the output's own key: number lines.
    let statsText = await readFile(join(dir, 'output'), 'utf8');
    const parse = join(suiteDir, 'parse');
    if (existsSync(parse)) {
      const parsed = await this.#o.runtime.run({
        command: parse,
        args: [],
        stdinFile: join(dir, 'output'),
        cwd: dir,
        env,
        timeoutMs: 60_000,
        outputFile: join(dir, 'parse.out'),
      });
      statsText = parsed.exitCode === 0 ? await readFile(join(dir, 'parse.out'), 'utf8') : '';
    }
    await writeFile(join(dir, 'stats.json'), JSON.stringify(parseStats(statsText, a.job.suite), null, 1) + '\n');
    return outcome;
  }

  async #uploadResults(id: number, dir: string): Promise<void> {
    const resultDir = join(dir, 'result');
    const files: [string, string][] = [];
    const walk = async (d: string) => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const full = join(d, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isFile()) files.push([relative(resultDir, full), full]);
      }
    };
    await walk(resultDir);
    // The testbox's own files last, so a suite cannot overwrite them.
    const own = new Set(['output', 'stats.json']);
    for (const [rel, full] of files) if (!own.has(rel) && rel !== 'job.yaml') await this.#put(id, rel, full);
    await this.#put(id, 'output', join(dir, 'output'));
    await this.#put(id, 'stats.json', join(dir, 'stats.json'));
  }

  async #put(id: number, rel: string, file: string): Promise<void> {
    const path = `/api/jobs/${id}/result/${rel.split('/').map(encodeURIComponent).join('/')}`;
    await this.client.upload(path, file, { testbox: this.hostname });
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
