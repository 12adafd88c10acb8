// The software stack's speed, against real servers over loopback HTTP, the
// benchmark playing the testboxes through the API:
//
//  1. release latency: a pkgbuild job's close → the job waiting on it handed
//     to an idle testbox already long-polling (SQLite, one server; and
//     PostgreSQL, the close sent to one server and the idle box polling the
//     other), each sample beside one of the bare wake-up (bench/floor.ts: a
//     long-poll woken by an in-process event, over the same servers);
//  2. submit throughput of ss jobs, half of them hitting a cached build,
//     each round beside the rate of a no-op POST on the same server;
//  3. builds created for 50 concurrent identical submits.
// Timings are reported as stacklab ÷ floor, the median of --runs rounds,
// with the absolute figures beside: on a shared machine the ratio holds
// where the absolute figure moves with the neighbours.
//
//   node bench/ss.ts [--runs 5] [--builds 40] [--submits 1000] [--write]   (builds, submits: per round)
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildConfig } from '../src/config.ts';
import { buildServer, type ServerHandle } from '../src/server/app.ts';
import { ApiClient } from '../src/api/client.ts';
import { packEntries } from '../src/artifacts/cgz.ts';
import type { Assignment } from '../src/api/contract.ts';
import type { Build } from '../src/api/contract.ts';
import { createPgDatabase, postgresAvailable } from '../test/support/db.ts';
import { makeSsLab, type SsLab } from '../test/support/ss-lab.ts';
import { tempDir } from '../test/support/tmp.ts';
import { machine, median, percentile, writeSection, loadNote } from './report.ts';
import { addFloorRoutes, FLOOR_SUBMIT, FLOOR_WAIT, FLOOR_WAKE, startFloorServer } from './floor.ts';

const { values: opts } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, builds: { type: 'string', default: '40' }, submits: { type: 'string', default: '1000' }, write: { type: 'boolean', default: false } },
});
const RUNS = Number(opts.runs);
const BUILDS = Number(opts.builds);
const SUBMITS = Number(opts.submits);
/** The benchmark's testboxes never heartbeat: a lab that does not call them lost within a run. */
const BENCH_POLICY = { testbox_lost_after: 3600, heartbeat_interval: 600 };
const ARCH = process.arch === 'arm64' ? 'aarch64' : 'x86_64';

interface Lab {
  servers: ServerHandle[];
  apis: ApiClient[];
  ss: SsLab;
  artifact: string;
  close(): Promise<void>;
}

async function lab(dialect: 'sqlite' | 'postgres', n: number): Promise<Lab> {
  const t = tempDir('stacklab-bench-');
  const ss = makeSsLab(t.dir, BENCH_POLICY);
  const pg = dialect === 'postgres' ? await createPgDatabase() : undefined;
  const data = join(t.dir, 'data');
  const servers: ServerHandle[] = [];
  for (let i = 0; i < n; i++) {
    const s = await buildServer(buildConfig({ data, lab: ss.lab, db: pg?.url ?? join(data, 'stacklab.db'), port: 0 }), { logLevel: false });
    addFloorRoutes(s.app);
    await s.start();
    servers.push(s);
  }
  const artifact = join(t.dir, 'pkg.cgz');
  writeFileSync(artifact, await packEntries([{ name: 'bin/hello', data: '#!/bin/sh\necho hi\n', mode: 0o755 }]));
  return {
    servers,
    apis: servers.map((s) => new ApiClient(s.url)),
    ss,
    artifact,
    async close() {
      for (const s of servers) await s.stop();
      await pg?.drop();
      t.cleanup();
    },
  };
}

const job = (commit: string, n: number, testbox = 'vm-bench') => ({ suite: 'boot-test', testbox, runtime: 60, ss: { hello: { commit, config: 'loud', n: String(n) } } });

/** Plays the build testbox for one pkgbuild job up to (not including) its close. */
async function takeBuild(api: ApiClient, host: string, artifact: string): Promise<number> {
  const a = await api.get<Assignment>(`/api/testboxes/${host}/next`, { wait: 10 });
  if (!a || a.job.suite !== 'pkgbuild') throw new Error(`${host} expected a pkgbuild job`);
  await api.post(`/api/jobs/${a.job.id}/stage`, { testbox: host, stage: 'running' });
  await api.upload(`/api/jobs/${a.job.id}/artifact/pkg.cgz`, artifact, { testbox: host });
  return a.job.id;
}

/** One round's samples, ms, sorted: the release, and the bare wake-up measured the same way right after each. */
interface Round {
  release: number[];
  floor: number[];
}

/** A long-poll started, 15 ms later `send` timed until the poll answers. */
async function wakeTime<T>(poll: () => Promise<T>, send: () => Promise<unknown>): Promise<{ ms: number; answer: T }> {
  let answered = 0;
  const p = poll().then((a) => ((answered = performance.now()), a));
  await new Promise((r) => setTimeout(r, 15));
  const sent = performance.now();
  await send();
  const answer = await p;
  return { ms: answered - sent, answer };
}

async function releaseLatency(dialect: 'sqlite' | 'postgres', servers: number): Promise<Round[]> {
  const l = await lab(dialect, servers);
  try {
    const [first, last] = [l.apis[0]!, l.apis[servers - 1]!];
    await first.post('/api/testboxes/register', { hostname: 'builder', type: 'dc', arch: ARCH, max_memory: 1e6, cpus: 8 });
    await last.post('/api/testboxes/register', { hostname: 'idle', type: 'vm', arch: ARCH, max_memory: 1e6, cpus: 8 });
    const rounds: Round[] = [];
    let n = 0;
    for (let r = 0; r < RUNS; r++) {
      const round: Round = { release: [], floor: [] };
      for (let i = 0; i < BUILDS; i++, n++) {
        const [{ job_id }] = (await first.post<{ job_id: number }[]>('/api/jobs', [job(l.ss.hello.good, n)])) as [{ job_id: number }];
        const pb = await takeBuild(first, 'builder', l.artifact);
        // The idle box is long-polling (through the other server, if there are two) before the close is sent.
        const rel = await wakeTime(
          () => last.get<Assignment>('/api/testboxes/idle/next', { wait: 30 }),
          () => first.post(`/api/jobs/${pb}/close`, { testbox: 'builder', health: 'success' }),
        );
        if (rel.answer?.job.id !== job_id) throw new Error(`the idle box got ${rel.answer?.job.id}, not ${job_id}`);
        round.release.push(rel.ms);
        await last.post(`/api/jobs/${job_id}/close`, { testbox: 'idle', health: 'success' }).catch(() => {});
        // The floor: the same long-poll shape over the same servers, woken by an in-process event.
        const floor = await wakeTime(
          () => last.get<{ woken: boolean }>(FLOOR_WAIT, { wait: 30 }),
          () => first.post(FLOOR_WAKE),
        );
        if (!floor.answer.woken) throw new Error('the bare long-poll was not woken');
        round.floor.push(floor.ms);
      }
      round.release.sort((x, y) => x - y);
      round.floor.sort((x, y) => x - y);
      rounds.push(round);
    }
    return rounds;
  } finally {
    await l.close();
  }
}

/** Seconds `total` POSTs from 8 concurrent clients take. */
async function timed(from: number, total: number, post: (i: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  let next = from;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < from + total) await post(next++);
    }),
  );
  return (performance.now() - started) / 1000;
}

interface SubmitRound {
  stacklab: number;
  noop: number;
}

/**
 * Submits/s against a server process of its own (the benchmark's clients must
 * not share its thread): a stacklab server with the floor routes (bench/floor.ts),
 * each round the no-op POST's rate and then the submit's.
 */
async function submitThroughput(commitOf: (ss: SsLab) => string): Promise<SubmitRound[]> {
  const t = tempDir('stacklab-bench-');
  const ss = makeSsLab(t.dir, BENCH_POLICY);
  const server = await startFloorServer({ data: join(t.dir, 'data'), lab: ss.lab });
  const artifact = join(t.dir, 'pkg.cgz');
  writeFileSync(artifact, await packEntries([{ name: 'bin/hello', data: '#!/bin/sh\necho hi\n', mode: 0o755 }]));
  try {
    const api = new ApiClient(server.url);
    await api.post('/api/testboxes/register', { hostname: 'builder', type: 'dc', arch: ARCH, max_memory: 1e6, cpus: 8 });
    const commit = commitOf(ss);
    // Some keys built beforehand: half the measured submits find a verified artifact.
    const warm = 200;
    for (let i = 0; i < warm; i++) {
      await api.post('/api/jobs', [job(commit, i)]);
      const pb = await takeBuild(api, 'builder', artifact);
      await api.post(`/api/jobs/${pb}/close`, { testbox: 'builder', health: 'success' });
    }
    const rounds: SubmitRound[] = [];
    for (let r = 0; r < RUNS; r++) {
      const jobs = Array.from({ length: SUBMITS }, (_, i) => (i % 2 === 0 ? job(commit, i % warm) : job(commit, 100_000 + r * SUBMITS + i)));
      // In blocks of a tenth, the floor's and the submit's alternating, so both see the same neighbours.
      let [noopSecs, submitSecs] = [0, 0];
      const block = Math.ceil(SUBMITS / 10);
      for (let from = 0; from < SUBMITS; from += block) {
        const n = Math.min(block, SUBMITS - from);
        noopSecs += await timed(from, n, (i) => api.post(FLOOR_SUBMIT, [jobs[i]]));
        submitSecs += await timed(from, n, (i) => api.post('/api/jobs', [jobs[i]]));
      }
      rounds.push({ stacklab: SUBMITS / submitSecs, noop: SUBMITS / noopSecs });
    }
    const builds = await api.get<Build[]>('/api/builds', { limit: 1000 });
    if (builds.length < Math.min(1000, warm + SUBMITS / 2)) throw new Error(`expected new builds, saw ${builds.length}`);
    return rounds;
  } finally {
    await server.kill();
    t.cleanup();
  }
}

async function singleFlight(dialect: 'sqlite' | 'postgres'): Promise<{ builds: number; pkgbuildJobs: number; jobs: number }> {
  const l = await lab(dialect, dialect === 'postgres' ? 2 : 1);
  try {
    const same = job(l.ss.hello.good, 7);
    // Fifty at once, spread over the servers.
    await Promise.all(Array.from({ length: 50 }, (_, i) => l.apis[i % l.apis.length]!.post('/api/jobs', [same])));
    const builds = await l.apis[0]!.get<Build[]>('/api/builds');
    const detail = await l.apis[0]!.get<Build>(`/api/builds/${builds[0]!.key}`);
    return { builds: builds.length, pkgbuildJobs: detail.pkgbuild_jobs!.length, jobs: detail.jobs!.length };
  } finally {
    await l.close();
  }
}

const pg = await postgresAvailable();
const lines: string[] = [];
const x = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)}×`;

// Release: per round, the p50 and p90 of each, and their ratios; the median round of each figure.
interface ReleaseRow {
  what: string;
  goal: number;
  ratio50: number;
  ratio90: number;
  rel: [number, number, number];
  floor: [number, number, number];
  ratios50: number[];
}
const releaseRow = (what: string, rounds: Round[]): ReleaseRow => {
  const m = (f: (r: Round) => number) => median(rounds.map(f));
  const all = (k: 'release' | 'floor') => rounds.flatMap((r) => r[k]).sort((a, b) => a - b);
  return {
    what,
    goal: 3,
    ratios50: rounds.map((r) => percentile(r.release, 50) / percentile(r.floor, 50)),
    ratio50: m((r) => percentile(r.release, 50) / percentile(r.floor, 50)),
    ratio90: m((r) => percentile(r.release, 90) / percentile(r.floor, 90)),
    rel: [m((r) => percentile(r.release, 50)), m((r) => percentile(r.release, 90)), percentile(all('release'), 99)],
    floor: [m((r) => percentile(r.floor, 50)), m((r) => percentile(r.floor, 90)), percentile(all('floor'), 99)],
  };
};
const rel: ReleaseRow[] = [releaseRow('SQLite, one server', await releaseLatency('sqlite', 1))];
if (pg) rel.push(releaseRow('PostgreSQL, close on one server, box polling the other', await releaseLatency('postgres', 2)));
for (const r of rel) process.stderr.write(`release ${r.what}: ${x(r.ratio50)} the bare wake-up at p50 (rounds ${r.ratios50.map(x).join(' ')}), ${r.rel[0].toFixed(1)} vs ${r.floor[0].toFixed(1)} ms\n`);

const thr = await submitThroughput((ss) => ss.hello.good);
const thrTag = await submitThroughput(() => 'v2');
const sub = (rounds: SubmitRound[]) => ({
  ratio: median(rounds.map((r) => r.stacklab / r.noop)),
  ratios: rounds.map((r) => r.stacklab / r.noop),
  stacklab: median(rounds.map((r) => r.stacklab)),
  noop: median(rounds.map((r) => r.noop)),
});
const [sSha, sTag] = [sub(thr), sub(thrTag)];
process.stderr.write(`submits: ${x(sSha.ratio)} the no-op POST (${sSha.ratios.map(x).join(' ')}), ${sSha.stacklab.toFixed(0)} vs ${sSha.noop.toFixed(0)}/s; tag ${x(sTag.ratio)}\n`);
const sf = [await singleFlight('sqlite'), ...(pg ? [await singleFlight('postgres')] : [])];

const ms = (v: number) => v.toFixed(1);
lines.push(
  '## ss: release, submit, single-flight (bench/ss.ts)',
  '',
  `In-process servers on loopback HTTP (\`buildServer\`), the benchmark playing the testboxes through the API; a lab from test/support/ss-lab.ts. Each build has its own key (a build parameter varies). Each figure is stacklab ÷ its floor measured in the same run on the same server (bench/floor.ts, routes only the benchmark registers), the median of ${RUNS} rounds; the absolute figures are beside, for reference only: on a shared machine they move with the neighbours, the ratio much less.`,
  '',
  `**Release latency**: from just before a pkgbuild job's close is sent to the moment the idle testbox's long-poll (\`GET /api/testboxes/:host/next?wait=30\`, started before the close) returns the job that waited on that build. The floor, measured right after each release the same way over the same servers: a bare long-poll route that waits on an in-process EventEmitter, woken by a POST (sent to the first server, the wait on the other when there are two). ${RUNS} rounds of ${BUILDS} builds each; ratio = release ÷ floor at p50 (and p90) per round, median round; ms are the median round's p50 / p90 and the p99 of all ${RUNS * BUILDS} samples:`,
  '',
  '| setup | release ÷ wake-up, p50 | p90 | release ms p50 / p90 / p99 | bare wake-up ms p50 / p90 / p99 | p50 ratio per round | goal |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...rel.map(
    (r) =>
      `| ${r.what} | **${x(r.ratio50)}** | ${x(r.ratio90)} | ${r.rel.map(ms).join(' / ')} | ${r.floor.map(ms).join(' / ')} | ${r.ratios50.map(x).join(' ')} | p50 ≤ ${r.goal}× ${r.ratio50 <= r.goal ? '✓' : '✗'} |`,
  ),
  '',
  `**Submit throughput** of ss jobs against a server process of its own (a \`stacklab server\` with the floor routes, bench/floor.ts), one job per \`POST /api/jobs\`, 8 concurrent clients in the benchmark's process, ${SUBMITS} submits per round, half of them hitting a build made beforehand and half creating a new build and its pkgbuild job (SQLite). The floor, measured in the same round in alternating blocks of a tenth: the same bodies POSTed by the same clients to a route that parses them and answers the submit's shape. Ratio = submits/s ÷ no-op POSTs/s per round, median of ${RUNS}:`,
  '',
  '| jobs name | submit ÷ no-op POST | submits/s | no-op POSTs/s | ratio per round | goal |',
  '| --- | --- | --- | --- | --- | --- |',
  ...([['full shas', sSha], ['a tag (resolved once, then cached for the lab\'s fetch interval)', sTag]] as const).map(
    ([what, r]) => `| ${what} | **${x(r.ratio)}** | ${r.stacklab.toFixed(0)} | ${r.noop.toFixed(0)} | ${r.ratios.map(x).join(' ')} | ≥ 0.3× ${r.ratio >= 0.3 ? '✓' : '✗'} |`,
  ),
  '',
  `**Single flight**: 50 concurrent identical submits → ${sf.map((s, i) => `${i === 0 ? 'SQLite' : 'PostgreSQL (two servers)'}: ${s.builds} build, ${s.pkgbuildJobs} pkgbuild job, ${s.jobs} jobs waiting on it`).join('; ')}. Goal: 1 build ${sf.every((s) => s.builds === 1 && s.pkgbuildJobs === 1) ? '✓' : '✗'}.`,
  '',
  `${machine()} ${new Date().toISOString().slice(0, 10)}; ${loadNote()}.`,
);
const text = lines.join('\n');
console.log(text);
if (opts.write) writeSection('ss', text);
