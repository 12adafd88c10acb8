// Claim latency with 100,000 waiting jobs, on SQLite and on PostgreSQL: the
// time of one claim transaction (the scheduler's claimFor) as the queue is
// drained, with many accounts, priorities, testbox types, arches and memory
// sizes in the queue so most rows do not match the box asking. Each claim is
// timed beside the floor it is held against, measured the same way right
// before it on the same database: the bare indexed SELECT of the rows the
// claim reads (each account's best dispatchable job for the box, on the
// dispatch index), with no transaction, lock, hand-over or commit. Reported
// as claim ÷ SELECT, the median of --runs rounds, the absolute times beside.
//
//   node bench/claim.ts [--jobs 100000] [--runs 5] [--claims 1000] [--write]   (claims: per round)
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
import { machine, median, percentile, writeSection, loadNote } from './report.ts';
import type { TestboxRow } from '../src/store/testboxes.ts';
import { prng } from '../test/support/prng.ts';

const { values: opts } = parseArgs({
  options: { jobs: { type: 'string', default: '100000' }, runs: { type: 'string', default: '5' }, claims: { type: 'string', default: '1000' }, write: { type: 'boolean', default: false } },
});
const JOBS = Number(opts.jobs);
const RUNS = Number(opts.runs);
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
        stage: 'submit' as const,
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

/** The floor: each account's best dispatchable job for the box, one indexed seek per account, outside any transaction. */
async function bareSelect(store: Store, box: TestboxRow): Promise<number> {
  const rows = await store.db
    .selectFrom('accounts as a')
    .select((sb) =>
      sb
        .selectFrom('jobs as j')
        .select('j.id')
        .whereRef('j.account', '=', 'a.name')
        .where('j.tbox_type', '=', box.type)
        .where('j.arch', '=', box.arch)
        .where('j.stage', '=', 'submit')
        .where('j.deps_pending', '=', 0)
        .where('j.memory_minimum', '<=', box.max_memory)
        .where((eb) => eb.or([eb('j.pinned_host', 'is', null), eb('j.pinned_host', '=', box.hostname)]))
        .orderBy('j.priority', 'desc')
        .orderBy('j.id', 'asc')
        .limit(1)
        .as('id'),
    )
    .execute();
  return rows.filter((r) => r.id != null).length;
}

interface Stats {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
const stats = (sorted: number[]): Stats => ({ p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted.at(-1)! });

interface Round {
  claim: Stats;
  floor: Stats;
  claimed: number;
}

async function measure(dialect: 'sqlite' | 'postgres'): Promise<Round[]> {
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
    const rounds: Round[] = [];
    for (let r = 0; r < RUNS; r++) {
      const times: number[] = [];
      const floors: number[] = [];
      let claimed = 0;
      for (let i = 0; i < CLAIMS; i++) {
        const box = (await getTestbox(store.db, `box-${i % 8}`))!;
        let start = performance.now();
        if ((await bareSelect(store, box)) === 0) throw new Error('the bare SELECT found no job');
        floors.push(performance.now() - start);
        start = performance.now();
        const row = await claimFor(scheduler.ctx, box);
        times.push(performance.now() - start);
        if (row) {
          claimed++;
          // The box is done with it (untimed): boxes hold a job or two, not thousands, and the fairness counts stay as a lab's.
          await store.db.updateTable('jobs').set({ stage: 'finish', health: 'success', finish_time: Date.now(), deadline: null }).where('id', '=', row.id).execute();
        }
      }
      rounds.push({ claim: stats(times.sort((x, y) => x - y)), floor: stats(floors.sort((x, y) => x - y)), claimed });
    }
    return rounds;
  } finally {
    await store.close();
    await pg?.drop();
    t.cleanup();
  }
}

const GOAL = 5;
const rows = [];
for (const dialect of ['sqlite', ...((await postgresAvailable()) ? ['postgres' as const] : [])] as const) {
  const rounds = await measure(dialect);
  const m = (f: (r: Round) => number) => median(rounds.map(f));
  const row = {
    dialect,
    ratios: rounds.map((r) => r.claim.p50 / r.floor.p50),
    ratio50: m((r) => r.claim.p50 / r.floor.p50),
    ratio99: m((r) => r.claim.p99 / r.floor.p99),
    claim: { p50: m((r) => r.claim.p50), p90: m((r) => r.claim.p90), p99: m((r) => r.claim.p99) },
    floor: { p50: m((r) => r.floor.p50), p90: m((r) => r.floor.p90), p99: m((r) => r.floor.p99) },
    claimed: rounds.reduce((a, r) => a + r.claimed, 0),
  };
  rows.push(row);
  console.log(`${dialect}: claim ÷ SELECT at p50 ${row.ratios.map((x) => x.toFixed(2)).join(' ')}`);
}

const f2 = (v: number) => v.toFixed(2);
const table = [
  `## Claim latency with ${JOBS.toLocaleString('en')} waiting jobs (bench/claim.ts)`,
  '',
  `One claim transaction (scheduler/dispatch.ts claimFor) as ${RUNS} rounds of ${CLAIMS} claims drain the queue (each claimed job finished at once, untimed, so a box holds one job at a time as in a lab): 50 accounts, priorities 0/1/5, testbox types dc/vm/hw, two arches, memory 1–64 GiB, a fifth of the jobs waiting on builds. Right before each claim, the floor on the same database, timed the same way: the bare indexed SELECT of the rows the claim reads (each account's best dispatchable job for the box, one seek each on the dispatch index; no transaction, lock, hand-over, event or commit). Ratio = claim ÷ SELECT at p50 (and p99) per round, median of ${RUNS} rounds; ms are the median round's.`,
  '',
  '| dialect | claim ÷ SELECT, p50 | p99 | claim ms p50 / p90 / p99 | bare SELECT ms p50 / p90 / p99 | p50 ratio per round | claimed | goal |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (r) =>
      `| ${r.dialect} | **${f2(r.ratio50)}×** | ${f2(r.ratio99)}× | ${f2(r.claim.p50)} / ${f2(r.claim.p90)} / ${f2(r.claim.p99)} | ${f2(r.floor.p50)} / ${f2(r.floor.p90)} / ${f2(r.floor.p99)} | ${r.ratios.map((x) => `${f2(x)}×`).join(' ')} | ${r.claimed} of ${RUNS * CLAIMS} | p50 ≤ ${GOAL}× ${r.ratio50 <= GOAL ? '✓' : '✗'} |`,
  ),
  '',
  `${machine()} ${new Date().toISOString().slice(0, 10)}; ${loadNote()}.`,
].join('\n');
console.log(table);
if (opts.write) writeSection('claim', table);
