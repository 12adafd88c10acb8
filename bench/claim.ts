// Claim latency with 100,000 waiting jobs, on SQLite and on PostgreSQL: the
// time of one claim transaction (the scheduler's claimFor) as the queue is
// drained, with many accounts, priorities, testbox types, arches and memory
// sizes in the queue so most rows do not match the box asking.
//
//   node bench/claim.ts [--jobs 100000] [--claims 2000] [--write]
import { join } from 'node:path';
import { sql } from 'kysely';
import { parseArgs } from 'node:util';
import { buildConfig } from '../src/config.ts';
import { Store } from '../src/store/db.ts';
import { Scheduler } from '../src/scheduler/scheduler.ts';
import { claimFor } from '../src/scheduler/dispatch.ts';
import { getTestbox, registerTestbox } from '../src/store/testboxes.ts';
import { createPgDatabase, postgresAvailable } from '../test/support/db.ts';
import { makeLab } from '../test/support/lab.ts';
import { tempDir } from '../test/support/tmp.ts';
import { machine, percentile, writeSection } from './report.ts';
import { prng } from '../test/support/prng.ts';

const { values: opts } = parseArgs({ options: { jobs: { type: 'string', default: '100000' }, claims: { type: 'string', default: '2000' }, write: { type: 'boolean', default: false } } });
const JOBS = Number(opts.jobs);
const CLAIMS = Number(opts.claims);
const ARCH = process.arch === 'arm64' ? 'aarch64' : 'x86_64';

async function fill(store: Store, n: number): Promise<void> {
  const r = prng(7);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const accounts = Array.from({ length: 50 }, (_, i) => `user${i}`);
  await store.db.insertInto('accounts').values(accounts.map((name) => ({ name }))).execute();
  const now = Date.now();
  for (let done = 0; done < n; done += 1000) {
    const rows = Array.from({ length: Math.min(1000, n - done) }, () => {
      const type = pick(['dc', 'dc', 'vm', 'hw']);
      return {
        account: pick(accounts),
        suite: 'bench',
        testbox: type,
        tbox_type: type,
        arch: pick([ARCH, ARCH, 'riscv64']),
        os: 'debian',
        os_version: '12',
        memory_minimum: pick([1, 2, 4, 8, 64]),
        priority: pick([0, 0, 0, 1, 5]),
        runtime: 600,
        stage: 'submit',
        // A fifth of the queue waits on builds: present but never dispatchable.
        deps_pending: r() < 0.2 ? 1 : 0,
        submit_time: now,
        result_root: '/r',
        spec: '{"suite":"bench"}',
      };
    });
    await store.tx(async (t) => void (await t.db.insertInto('jobs').values(rows).execute()));
  }
}

async function measure(dialect: 'sqlite' | 'postgres'): Promise<{ dialect: string; p50: number; p90: number; p99: number; max: number; claimed: number }> {
  const t = tempDir('stacklab-bench-');
  const pg = dialect === 'postgres' ? await createPgDatabase() : undefined;
  const db = pg?.url ?? join(t.dir, 'bench.db');
  const store = await Store.open(db);
  try {
    const config = buildConfig({ data: join(t.dir, 'data'), lab: makeLab(join(t.dir, 'lab'), {}), db });
    const scheduler = new Scheduler(store, config);
    await fill(store, JOBS);
    if (dialect === 'postgres') await sql`ANALYZE`.execute(store.db);
    // Boxes big enough to take every job they match, so the queue drains as the claims go on.
    for (let i = 0; i < 8; i++) await registerTestbox(store.db, { hostname: `box-${i}`, type: 'dc', arch: ARCH, max_memory: 1_000_000, cpus: 64 }, Date.now());
    const times: number[] = [];
    let claimed = 0;
    for (let i = 0; i < CLAIMS; i++) {
      const box = (await getTestbox(store.db, `box-${i % 8}`))!;
      const start = performance.now();
      const row = await claimFor(scheduler.ctx, box);
      times.push(performance.now() - start);
      if (row) claimed++;
    }
    times.sort((x, y) => x - y);
    return { dialect, p50: percentile(times, 50), p90: percentile(times, 90), p99: percentile(times, 99), max: times.at(-1)!, claimed };
  } finally {
    await store.close();
    await pg?.drop();
    t.cleanup();
  }
}

const rows = [];
for (const dialect of ['sqlite', ...((await postgresAvailable()) ? ['postgres' as const] : [])] as const) {
  const runs = [];
  for (let k = 0; k < 3; k++) runs.push(await measure(dialect));
  // The median run by p99.
  runs.sort((x, y) => x.p99 - y.p99);
  rows.push(runs[1]!);
  console.log(`${dialect}: ${JSON.stringify(runs.map((r) => ({ p50: r.p50.toFixed(2), p99: r.p99.toFixed(2) })))}`);
}

const table = [
  `## Claim latency with ${JOBS.toLocaleString('en')} waiting jobs (bench/claim.ts)`,
  '',
  `One claim transaction (scheduler/dispatch.ts claimFor) as ${CLAIMS} claims drain the queue: 50 accounts, priorities 0/1/5, testbox types dc/vm/hw, two arches, memory 1–64 GiB, a fifth of the jobs waiting on builds. Median of 3 runs by p99, a fresh database each.`,
  '',
  '| dialect | p50 ms | p90 ms | p99 ms | max ms | claimed | goal |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.dialect} | ${r.p50.toFixed(2)} | ${r.p90.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(2)} | ${r.claimed} | p99 < 5 ms ${r.p99 < 5 ? '✓' : '✗'} |`),
  '',
  machine(),
].join('\n');
console.log(table);
if (opts.write) writeSection('claim', table);
