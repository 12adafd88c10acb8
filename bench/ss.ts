// The software stack's speed, against real servers over loopback HTTP, the
// benchmark playing the testboxes through the API:
//
//  1. release latency: a pkgbuild job's close → the job waiting on it handed
//     to an idle testbox already long-polling (SQLite, one server; and
//     PostgreSQL, the close sent to one server and the idle box polling the
//     other);
//  2. submit throughput of ss jobs, half of them hitting a cached build;
//  3. builds created for 50 concurrent identical submits.
//
//   node bench/ss.ts [--builds 200] [--submits 2000] [--write]
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
import { startServer } from '../test/support/procs.ts';
import { machine, median, percentile, writeSection } from './report.ts';

const { values: opts } = parseArgs({ options: { builds: { type: 'string', default: '200' }, submits: { type: 'string', default: '2000' }, write: { type: 'boolean', default: false } } });
const BUILDS = Number(opts.builds);
const SUBMITS = Number(opts.submits);
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
  const ss = makeSsLab(t.dir);
  const pg = dialect === 'postgres' ? await createPgDatabase() : undefined;
  const data = join(t.dir, 'data');
  const servers: ServerHandle[] = [];
  for (let i = 0; i < n; i++) {
    const s = await buildServer(buildConfig({ data, lab: ss.lab, db: pg?.url ?? join(data, 'stacklab.db'), port: 0 }), { logLevel: false });
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

async function releaseLatency(dialect: 'sqlite' | 'postgres', servers: number): Promise<number[]> {
  const l = await lab(dialect, servers);
  try {
    const [first, last] = [l.apis[0]!, l.apis[servers - 1]!];
    await first.post('/api/testboxes/register', { hostname: 'builder', type: 'dc', arch: ARCH, max_memory: 1e6, cpus: 8 });
    await last.post('/api/testboxes/register', { hostname: 'idle', type: 'vm', arch: ARCH, max_memory: 1e6, cpus: 8 });
    const times: number[] = [];
    for (let i = 0; i < BUILDS; i++) {
      const [{ job_id }] = (await first.post<{ job_id: number }[]>('/api/jobs', [job(l.ss.hello.good, i)])) as [{ job_id: number }];
      const pb = await takeBuild(first, 'builder', l.artifact);
      // The idle box is long-polling (through the other server, if there are two) before the close is sent.
      let released = 0;
      const poll = last.get<Assignment>('/api/testboxes/idle/next', { wait: 30 }).then((a) => ((released = performance.now()), a));
      await new Promise((r) => setTimeout(r, 15));
      const sent = performance.now();
      await first.post(`/api/jobs/${pb}/close`, { testbox: 'builder', health: 'success' });
      const a = await poll;
      if (a?.job.id !== job_id) throw new Error(`the idle box got ${a?.job.id}, not ${job_id}`);
      times.push(released - sent);
      await last.post(`/api/jobs/${job_id}/close`, { testbox: 'idle', health: 'success' }).catch(() => {});
    }
    return times.sort((x, y) => x - y);
  } finally {
    await l.close();
  }
}

/** Submits/s against a `stacklab server` process of its own (the benchmark's clients must not share its thread). */
async function submitThroughput(commitOf: (ss: SsLab) => string): Promise<number> {
  const t = tempDir('stacklab-bench-');
  const ss = makeSsLab(t.dir);
  const server = await startServer({ data: join(t.dir, 'data'), lab: ss.lab });
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
    const jobs = Array.from({ length: SUBMITS }, (_, i) => (i % 2 === 0 ? job(commit, i % warm) : job(commit, 100_000 + i)));
    const clients = 8;
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < jobs.length) await api.post('/api/jobs', [jobs[next++]]);
      }),
    );
    const secs = (performance.now() - started) / 1000;
    const builds = await api.get<Build[]>('/api/builds', { limit: 1000 });
    if (builds.length < Math.min(1000, warm + SUBMITS / 2)) throw new Error(`expected new builds, saw ${builds.length}`);
    return SUBMITS / secs;
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
const fmt = (t: number[]) => `${percentile(t, 50).toFixed(1)} | ${percentile(t, 90).toFixed(1)} | ${percentile(t, 99).toFixed(1)} | ${t.at(-1)!.toFixed(1)}`;

const rel: [string, number[], number][] = [];
rel.push(['SQLite, one server', await releaseLatency('sqlite', 1), 50]);
if (pg) rel.push(['PostgreSQL, close on one server, box polling the other', await releaseLatency('postgres', 2), 100]);
for (const [what, t] of rel) process.stderr.write(`release ${what}: p50 ${percentile(t, 50).toFixed(1)} p99 ${percentile(t, 99).toFixed(1)}\n`);

const thr: number[] = [];
const thrTag: number[] = [];
for (let k = 0; k < 3; k++) {
  thr.push(await submitThroughput((ss) => ss.hello.good));
  thrTag.push(await submitThroughput(() => 'v2'));
  process.stderr.write(`submits/s: ${thr.at(-1)!.toFixed(0)} (sha), ${thrTag.at(-1)!.toFixed(0)} (tag)\n`);
}
const sf = [await singleFlight('sqlite'), ...(pg ? [await singleFlight('postgres')] : [])];

lines.push(
  '## ss: release, submit, single-flight (bench/ss.ts)',
  '',
  `In-process servers on loopback HTTP (\`buildServer\`), the benchmark playing the testboxes through the API; a lab from test/support/ss-lab.ts. Each build has its own key (a build parameter varies).`,
  '',
  `**Release latency**: from just before a pkgbuild job's close is sent to the moment the idle testbox's long-poll (\`GET /api/testboxes/:host/next?wait=30\`, started before the close) returns the job that waited on that build. ${BUILDS} builds each, ms:`,
  '',
  '| setup | p50 | p90 | p99 | max | goal |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rel.map(([what, t, goal]) => `| ${what} | ${fmt(t)} | p99 < ${goal} ms ${percentile(t, 99) < goal ? '✓' : '✗'} |`),
  '',
  `**Submit throughput** of ss jobs against a \`stacklab server\` process, one job per \`POST /api/jobs\`, 8 concurrent clients in the benchmark's process, ${SUBMITS} submits, half of them hitting a build made beforehand and half creating a new build and its pkgbuild job (SQLite). Median of 3 runs: **${median(thr).toFixed(0)} submits/s** with full shas in the jobs, **${median(thrTag).toFixed(0)} submits/s** with a tag (resolved once, then cached for the lab's fetch interval). Goal ≥ 1,000/s ${median(thr) >= 1000 ? '✓' : '✗'}.`,
  '',
  `**Single flight**: 50 concurrent identical submits → ${sf.map((s, i) => `${i === 0 ? 'SQLite' : 'PostgreSQL (two servers)'}: ${s.builds} build, ${s.pkgbuildJobs} pkgbuild job, ${s.jobs} jobs waiting on it`).join('; ')}. Goal: 1 build ${sf.every((s) => s.builds === 1 && s.pkgbuildJobs === 1) ? '✓' : '✗'}.`,
  '',
  machine(),
);
const text = lines.join('\n');
console.log(text);
if (opts.write) writeSection('ss', text);
