// Running one assigned job on this testbox, start to close: download and
// unpack its job.cgz, fetch its ss artifacts (checked, cached), run the
// suite (or, for a pkgbuild job, the recipe) with the documented
// environment and the runtime limit, derive stats, upload every result file
// into the job's result root and close with the right health. Everything it
// tells the scheduler goes through a JobReporter.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Assignment, PkgbuildSpec } from '../api/contract.ts';
import { unpack } from '../artifacts/cgz.ts';
import { runPkgbuild, type PkgbuildOutcome } from '../pkgbuild/runner.ts';
import type { Runtime, RunOutcome } from '../runtime/runtime.ts';
import type { Log } from '../util/log.ts';
import { packageEnv, type ArtifactCache } from './artifact-cache.ts';
import type { JobReporter } from './reporter.ts';
import { parseStats } from '../model/stats.ts';
import { parse as parseYaml } from 'yaml';
import { suiteEnvironment } from '../jobfile/index.ts';

/** How often a growing build log is uploaded while the build runs. */
const LOG_UPLOAD_MS = 5000;

/** Environment variables a suite inherits from the agent; nothing else leaks in. */
const PASS_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SHELL'];

export interface JobRunContext {
  /** This job's own directory (emptied first). */
  dir: string;
  reporter: JobReporter;
  runtime: Runtime;
  cache: ArtifactCache;
  /** Bare mirrors of upstreams for pkgbuild jobs, shared by the box's jobs. */
  gitCacheDir: string;
  /** What recipes keep across the box's builds (`$cachedir`: ccache, the kernel's kept trees). */
  pkgCacheDir?: string | undefined;
  /** Variables the box sets for every build (`--build-env`), not part of a build key. */
  buildEnv?: Record<string, string> | undefined;
  log: Log;
  /** Aborts when the scheduler drops the job or the agent stops. */
  signal: AbortSignal;
}

/**
 * Runs the job to its close; returns the health it closed with, or null if
 * it was stopped (the scheduler dropped it) before that.
 */
export async function runAssignment(a: Assignment, c: JobRunContext): Promise<string | null> {
  const id = a.job.id;
  const dir = c.dir;
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'result'), { recursive: true });
  await c.reporter.download(a.job_cgz, join(dir, 'job.cgz'), c.signal);
  await unpack(join(dir, 'job.cgz'), dir);
  // The job's ss packages: fetched by URL, checked against their sha256, unpacked once per build.
  const roots: { pkg: string; root: string }[] = [];
  for (const art of a.artifacts ?? []) {
    if (art.name === 'pkg.cgz') roots.push({ pkg: art.pkg, root: await c.cache.tree(c.reporter, art) });
  }
  await c.reporter.stage(id, 'running');
  const health = a.job.suite === 'pkgbuild' ? await runBuild(a, c) : await runTest(a, c, roots);
  if (health === null) return null;
  await c.reporter.close(id, health);
  return health;
}

/** A test job: run the suite, derive stats, upload results; its health, or null if dropped. */
async function runTest(a: Assignment, c: JobRunContext, roots: { pkg: string; root: string }[]): Promise<string | null> {
  const outcome = await runSuite(a, c, roots);
  if (outcome.aborted) return null;
  await c.reporter.stage(a.job.id, 'post_run');
  await uploadResults(a.job.id, c);
  return outcome.timedOut ? 'timeout' : outcome.exitCode === 0 ? 'success' : 'failed';
}

/** A pkgbuild job: build, upload the artifacts and the log; the health tells the scheduler whom to blame. */
async function runBuild(a: Assignment, c: JobRunContext): Promise<string | null> {
  const b = a.job.pkgbuild as PkgbuildSpec;
  const dir = c.dir;
  const log = join(dir, 'result', 'build.log');
  // The log goes up as it grows, so that whoever follows the build (submit -m) sees it move; the last upload is below.
  let sent = 0;
  let sending: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (sending) return;
    sending = stat(log)
      .then(async (st) => {
        if (st.size === sent) return;
        await c.reporter.upload(a.job.id, 'build.log', log);
        sent = st.size;
      })
      .catch(() => {})
      .finally(() => (sending = undefined));
  }, LOG_UPLOAD_MS);
  const outcome: PkgbuildOutcome = await runPkgbuild({
    jobDir: dir,
    build: { pkg: b.pkg, fork: b.fork, upstream_url: b.fetch_url ?? b.upstream_url, commit: b.commit, config: b.config, params: b.params, build_key: b.build_key },
    gitCacheDir: c.gitCacheDir,
    ...(c.pkgCacheDir ? { cacheDir: c.pkgCacheDir } : {}),
    ...(c.buildEnv ? { buildEnv: c.buildEnv } : {}),
    ...(typeof a.job.os_arch === 'string' ? { osArch: a.job.os_arch } : {}),
    outDir: join(dir, 'out'),
    logFile: log,
    timeoutMs: Number(a.job.runtime ?? 3600) * 1000,
    signal: c.signal,
  }).finally(async () => {
    clearInterval(timer);
    await sending;
  });
  if (outcome.result === 'aborted') return null;
  await c.reporter.stage(a.job.id, 'post_run');
  if (outcome.result === 'success') {
    for (const art of outcome.artifacts) await c.reporter.uploadArtifact(a.job.id, art.name, art.file);
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
  await uploadResults(a.job.id, c);
  const health: Record<PkgbuildOutcome['result'], string> = { success: 'success', failed: 'failed', infra: 'abnormal', timeout: 'timeout', aborted: 'abnormal' };
  return health[outcome.result];
}

/**
 * The suite's environment: the agent's few passed-through variables, then
 * the job's variables and parameters as lkp's job.sh gives them (from the
 * job.yaml the job.cgz carries: the job as submitted, not the scheduler's
 * view of it), then stacklab's own.
 */
async function suiteEnv(a: Assignment, dir: string): Promise<{ env: Record<string, string>; args: string[] }> {
  const env: Record<string, string> = {};
  for (const k of PASS_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  const job = parseYaml(await readFile(join(dir, 'job.yaml'), 'utf8')) as Record<string, unknown>;
  const vars = suiteEnvironment(job);
  Object.assign(env, vars.env);
  env.STACKLAB_JOB_ID = String(a.job.id);
  env.STACKLAB_SUITE = a.job.suite;
  env.RESULT_ROOT = join(dir, 'result');
  return { env, args: vars.args };
}

async function runSuite(a: Assignment, c: JobRunContext, roots: { pkg: string; root: string }[]): Promise<RunOutcome> {
  const dir = c.dir;
  const suiteDir = join(dir, 'suite');
  const vars = await suiteEnv(a, dir);
  const env = packageEnv(vars.env, roots);
  const runtimeMs = Number(a.job.runtime ?? 3600) * 1000;
  const outcome = await c.runtime.run({
    command: join(suiteDir, 'run'),
    args: vars.args,
    cwd: dir,
    env,
    timeoutMs: runtimeMs,
    outputFile: join(dir, 'output'),
    pidFile: join(dir, 'pid'),
    signal: c.signal,
  });
  if (outcome.aborted) return outcome;
  if (outcome.timedOut) await writeFile(join(dir, 'output'), `\nstacklab: killed after runtime ${String(a.job.runtime)} s\n`, { flag: 'a' });
  // Stats: the suite's parse reads the output on stdin; without one, the output's own key: number lines.
  let statsText = await readFile(join(dir, 'output'), 'utf8');
  const parse = join(suiteDir, 'parse');
  if (existsSync(parse)) {
    const parsed = await c.runtime.run({
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

async function uploadResults(id: number, c: JobRunContext): Promise<void> {
  const resultDir = join(c.dir, 'result');
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
  for (const [rel, full] of files) if (!own.has(rel) && rel !== 'job.yaml') await c.reporter.upload(id, rel, full);
  await c.reporter.upload(id, 'output', join(c.dir, 'output'));
  await c.reporter.upload(id, 'stats.json', join(c.dir, 'stats.json'));
}
