// The crash test (issue 12): kill -9 the server at random points under an
// ss workload — on SQLite (the one server, restarted on the same port), and
// on PostgreSQL (one of two servers, the other one carrying on) — at least
// ten times each, while clients submit through the CLI's idempotent, retried
// submit and testboxes run jobs and builds. Then every submitted job must
// have finished exactly once (the suite keeps its own record of each run),
// with the health it would have had without the crashes (success: none lost
// to timeout or abnormal), every build key built once, and no build left
// orphaned past its box's next heartbeat.
//
//   npx node bench/crash.ts [--write] [--kills N] [--jobs N] [sqlite|postgres]
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiClient, ApiError } from '../src/api/client.ts';
import type { Build, Job, SubmitResult } from '../src/api/contract.ts';
import { backoff, sleep } from '../src/util/sleep.ts';
import { createPgDatabase, postgresAvailable } from '../test/support/db.ts';
import { makeSsLab } from '../test/support/ss-lab.ts';
import { startProc, type Proc } from '../test/support/procs.ts';
import { tempDir } from '../test/support/tmp.ts';
import { prng } from '../test/support/prng.ts';
import { machine, writeSection } from './report.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const KILLS = opt('--kills', 10);
const JOBS = opt('--jobs', 200);
const only = args.find((a) => a === 'sqlite' || a === 'postgres');

/** Slow enough heartbeats that a restart (a second or two) is not a lost box; the rest as the lab defaults. */
const POLICY = { heartbeat_interval: 1, testbox_lost_after: 15, sweep_interval: 0.5, boot_timeout: 60, running_grace: 30, post_run_timeout: 60, build_testbox: 'dc-build' };

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitUp(url: string, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(`${url}/api/health`)).ok) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error(`${url} did not come up`);
    await sleep(100);
  }
}

/** The CLI's submit: one Idempotency-Key, tried again while the server cannot answer. */
async function submit(api: ApiClient, job: unknown): Promise<number> {
  const key = randomUUID();
  for (let attempt = 0; ; attempt++) {
    try {
      const [r] = await api.request<SubmitResult[]>('POST', '/api/jobs', { json: [job], headers: { 'idempotency-key': key } });
      return r!.job_id;
    } catch (err) {
      if (err instanceof ApiError) throw err;
      await sleep(backoff(attempt, 100, 2000));
    }
  }
}

async function settled<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApiError) throw err;
      await sleep(backoff(attempt, 100, 2000));
    }
  }
}

interface Figures {
  engine: string;
  kills: number;
  jobs: number;
  builds: number;
  ranOnce: number;
  ranTwice: number;
  notSuccess: Record<string, number>;
  buildsTwice: number;
  maxOrphanS: number;
  requeued: number;
  wallS: number;
}

async function scenario(engine: 'sqlite' | 'postgres'): Promise<Figures> {
  const t = tempDir('stacklab-crash-');
  const started = performance.now();
  const runlog = join(t.dir, 'runs.log');
  const buildlog = join(t.dir, 'builds.log');
  const ss = makeSsLab(t.dir, POLICY);
  // The suite and the recipe keep their own records: the truth about what ran, whatever the database says.
  const { writeFileSync, chmodSync } = await import('node:fs');
  writeFileSync(join(ss.lab, 'suites', 'use-hello', 'run'), `#!/bin/sh\necho "$STACKLAB_JOB_ID" >> ${runlog}\nsleep 0.3\nhello\n`);
  chmodSync(join(ss.lab, 'suites', 'use-hello', 'run'), 0o755);
  writeFileSync(join(ss.lab, 'recipes', 'hello', 'PKGBUILD'), readFileSync(join(ss.lab, 'recipes', 'hello', 'PKGBUILD'), 'utf8').replace('build() {', `build() {\n  echo "$commit $config" >> ${buildlog}`));
  const pg = engine === 'postgres' ? await createPgDatabase() : undefined;
  const data = join(t.dir, 'data');
  const ports = engine === 'postgres' ? [await freePort(), await freePort()] : [await freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const servers: (Proc | undefined)[] = [];
  const startServerAt = async (i: number) => {
    servers[i] = startProc(['server', '--data', data, '--lab', ss.lab, '--port', String(ports[i]), '--log-level', 'error', ...(pg ? ['--db', pg.url] : [])]);
    await waitUp(urls[i]!);
  };
  for (let i = 0; i < ports.length; i++) await startServerAt(i);
  const boxes: Proc[] = [];
  const boxNames = ['dc-a', 'dc-b', 'build-a', 'build-b'];
  for (const [i, name] of boxNames.entries()) {
    const server = urls[i % urls.length]!;
    boxes.push(startProc(['testbox', '--server', server, '--hostname', name, '--workdir', join(t.dir, 'box', name), '--slots', '2', '--log-level', 'error', '--mem', '16']));
  }
  const clients = urls.map((u) => new ApiClient(u));
  const r = prng(engine === 'sqlite' ? 1 : 2);
  const commits = ['v1', 'v2', 'v4'];
  const configs = [undefined, 'loud', 'quiet'];
  const ids: number[] = [];
  let kills = 0;
  let submitting = true;

  // The killer: kill -9 the server (SQLite) or one of the two (PostgreSQL) at random moments, and start it again.
  const killer = (async () => {
    while (kills < KILLS) {
      await sleep(1000 + r() * 2500);
      const i = engine === 'sqlite' ? 0 : Math.floor(r() * 2);
      await servers[i]!.kill('SIGKILL');
      kills++;
      await sleep(r() * 500);
      await startServerAt(i);
    }
  })();
  const submitter = (async () => {
    for (let n = 0; n < JOBS; n++) {
      const c = commits[Math.floor(r() * commits.length)]!;
      const config = configs[Math.floor(r() * configs.length)];
      // Builds take a second (the recipe's delay parameter), so kills land in the middle of builds too.
      const job = { suite: 'use-hello', testbox: 'dc', runtime: 120, ss: { hello: { commit: c, delay: '1', ...(config ? { config } : {}) } } };
      ids.push(await submit(clients[n % clients.length]!, job));
      if (n % 10 === 9) await sleep(150);
    }
    submitting = false;
  })();
  await Promise.all([killer, submitter]);
  void submitting;

  // Everything finishes; measure how long any build stayed handed over without running.
  const deadline = Date.now() + 10 * 60_000;
  let jobs: Job[] = [];
  let maxOrphanMs = 0;
  for (;;) {
    jobs = await settled(() => clients[0]!.get<Job[]>('/api/jobs', { limit: 1000 }));
    const now = Date.now();
    for (const j of jobs) if (j.suite === 'pkgbuild' && j.job_stage === 'boot' && j.boot_time) maxOrphanMs = Math.max(maxOrphanMs, now - Date.parse(j.boot_time));
    if (jobs.every((j) => j.job_stage === 'finish') && jobs.length >= ids.length) break;
    if (Date.now() > deadline) throw new Error(`${engine}: jobs still open after 10 min: ${jobs.filter((j) => j.job_stage !== 'finish').map((j) => `${j.id}:${j.job_stage}`).join(' ')}`);
    await sleep(500);
  }
  const builds = await settled(() => clients[0]!.get<Build[]>('/api/builds', { limit: 1000 }));
  // Hand-overs lost with a killed server, and handed out again (the heartbeat said the box never got them).
  let requeued = 0;
  for (const j of jobs) {
    const full = await settled(() => clients[0]!.get<Job>(`/api/jobs/${j.id}`));
    if (full.timeline!.some((e) => e.event === 'requeue')) requeued++;
  }
  const runs = existsSync(runlog) ? readFileSync(runlog, 'utf8').trim().split('\n').map(Number) : [];
  const counts = new Map<number, number>();
  for (const id of runs) counts.set(id, (counts.get(id) ?? 0) + 1);
  const mine = jobs.filter((j) => ids.includes(j.id));
  const notSuccess: Record<string, number> = {};
  for (const j of mine) {
    if (j.job_health === 'success') continue;
    notSuccess[String(j.job_health)] = (notSuccess[String(j.job_health)] ?? 0) + 1;
    const full = await settled(() => clients[0]!.get<Job>(`/api/jobs/${j.id}`));
    process.stderr.write(`${engine}: job ${j.id} ${j.job_health}: ${JSON.stringify(full.timeline)}\n`);
  }
  const built = readFileSync(buildlog, 'utf8').trim().split('\n');
  const buildKeys = new Map<string, number>();
  for (const l of built) buildKeys.set(l, (buildKeys.get(l) ?? 0) + 1);
  for (const b of boxes) await b.kill();
  for (const s of servers) await s?.kill();
  await pg?.drop();
  t.cleanup();
  return {
    engine: engine === 'postgres' ? 'PostgreSQL, 2 servers' : 'SQLite',
    kills,
    jobs: ids.length,
    builds: builds.length,
    ranOnce: ids.filter((id) => counts.get(id) === 1).length,
    ranTwice: ids.filter((id) => (counts.get(id) ?? 0) > 1).length,
    notSuccess,
    buildsTwice: [...buildKeys.values()].filter((n) => n > 1).length,
    maxOrphanS: maxOrphanMs / 1000,
    requeued,
    wallS: (performance.now() - started) / 1000,
  };
}

const rows: Figures[] = [];
for (const engine of ['sqlite', 'postgres'] as const) {
  if (only && only !== engine) continue;
  if (engine === 'postgres' && !(await postgresAvailable())) continue;
  const f = await scenario(engine);
  rows.push(f);
  process.stdout.write(`${JSON.stringify(f)}\n`);
}
const ok = rows.every((f) => f.ranOnce === f.jobs && f.ranTwice === 0 && Object.keys(f.notSuccess).length === 0 && f.buildsTwice === 0);
const table = [
  `${machine()} ${JOBS} ss jobs (3 commits × 3 configs of the hello package) submitted through the CLI's idempotent, retried submit while the server is killed with SIGKILL and restarted on its port at random moments; 4 testbox processes (2 slots each); lab heartbeat 1 s, testbox_lost_after 15 s.`,
  '',
  '| engine | kills | jobs | ran exactly once | ran twice | not success | builds | a key built twice | lost hand-overs handed out again | longest a build was seen handed over | wall |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((f) => `| ${f.engine} | ${f.kills} | ${f.jobs} | ${f.ranOnce} | ${f.ranTwice} | ${JSON.stringify(f.notSuccess)} | ${f.builds} | ${f.buildsTwice} | ${f.requeued} | ${f.maxOrphanS.toFixed(1)} s | ${f.wallS.toFixed(0)} s |`),
  '',
  ok ? 'Every job finished success and ran once; every build key was built once.' : '**A promise did not hold** (see the row).',
].join('\n');
process.stdout.write(`\n${table}\n`);
if (args.includes('--write')) writeSection('crash', `## Crashes (bench/crash.ts)\n\n${table}\n`);
process.exitCode = ok ? 0 : 1;
