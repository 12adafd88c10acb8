// Several schedulers on one PostgreSQL database (issue 4): two `stacklab
// server` processes share the database and the data directory, four testbox
// processes talk to one or the other. Every job must run exactly once — as
// the suites themselves record it, not as the scheduler says — every build
// must be built once, and a build closed through one server must release
// jobs to testboxes long-polling the other.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPgDatabase, postgresAvailable } from '../support/db.ts';
import { tempDir } from '../support/tmp.ts';
import { startServer, startTestbox, type Proc } from '../support/procs.ts';
import { makeSsLab } from '../support/ss-lab.ts';
import { FAST_POLICY, makeLab } from '../support/lab.ts';
import { finished } from '../support/wait.ts';
import { ApiClient } from '../../src/api/client.ts';
import type { Job } from '../../src/api/contract.ts';
import type { Build } from '../../src/api/contract.ts';

const pg = await postgresAvailable();
const ARCH = process.arch === 'arm64' ? 'aarch64' : 'x86_64';

/** The hello recipe, also recording every build it makes in $buildlog. */
const COUNTING_RECIPE = `pkgname=hello
pkgver=1.0
build() {
  cd "$srcdir/$pkgname"
  echo "$commit $(head -c 20 "$config") $(basename "$(dirname "$srcdir")")" >> "$buildlog"
  greeting=hello
  if [ -n "$config" ]; then greeting=$(sed -n 's/^GREETING=//p' "$config"); fi
  cc -DGREETING="\\"$greeting\\"" -o hello hello.c
}
package() {
  install -Dm755 "$srcdir/$pkgname/hello" "$pkgdir/bin/hello"
}
`;

describe('two servers on one PostgreSQL database', { skip: pg ? false : 'PostgreSQL not reachable' }, () => {
  const t = tempDir();
  const runlog = join(t.dir, 'runs.log');
  const buildlog = join(t.dir, 'builds.log');
  let drop: () => Promise<void>;
  const servers: (Proc & { url: string })[] = [];
  const boxes: Proc[] = [];
  let a: ApiClient;
  let b: ApiClient;

  before(async () => {
    const db = await createPgDatabase();
    drop = db.drop;
    const lab = makeSsLab(t.dir, { build_testbox: 'dc-build' });
    writeFileSync(join(lab.lab, 'recipes', 'hello', 'PKGBUILD'), COUNTING_RECIPE);
    // Suites that record every run in $runlog: the test's own witness of "exactly once".
    makeLab(lab.lab, {
      // (boot_timeout long: the claimers of the second test hold their jobs in boot for as long as that test lasts.)
      policy: { ...FAST_POLICY, boot_timeout: 600, build_testbox: 'dc-build', allow_local_upstreams: true, cross_builds: { hello: { riscv64: ARCH } } },
      suites: {
        count: { run: '#!/bin/sh\necho "$STACKLAB_JOB_ID" >> "$runlog"\necho "n: $n"\n' },
        'use-hello-count': { run: '#!/bin/sh\necho "$STACKLAB_JOB_ID" >> "$runlog"\nhello\n' },
      },
    });
    writeFileSync(runlog, '');
    writeFileSync(buildlog, '');
    const data = join(t.dir, 'data');
    // The first server creates the schema; the second finds it there.
    servers.push(await startServer({ data, lab: lab.lab, db: db.url }));
    servers.push(await startServer({ data, lab: lab.lab, db: db.url }));
    [a, b] = servers.map((s) => new ApiClient(s.url)) as [ApiClient, ApiClient];
    // Server A's testboxes take this host's arch (the matrix and every build: the lab cross-builds hello for riscv64 here);
    // server B's say they are riscv64 and take the ss tests, which ask for it. (All run as processes on this machine.)
    for (const [i, server, name, arch] of [[0, 0, 'a-dc-1', ARCH], [1, 0, 'a-dc-2', ARCH], [2, 1, 'b-rv-1', 'riscv64'], [3, 1, 'b-rv-2', 'riscv64']] as const) {
      boxes.push(await startTestbox({ server: servers[server]!.url, hostname: name, workdir: join(t.dir, `box-${i}`), extra: ['--arch', arch] }));
    }
  });

  after(async () => {
    for (const x of boxes) await x.kill();
    for (const s of servers) await s.kill();
    await drop?.();
    t.cleanup();
  });

  test('a 40-job matrix and ss jobs: each runs once, each build is built once, releases cross servers', async () => {
    const counted = { suite: 'count', testbox: 'dc', runtime: 60, count: { runlog, n: Array.from({ length: 40 }, (_, i) => i) } };
    // The matrix goes in through server B; only server A's testboxes can run it.
    const matrixIds = (await b.post<{ job_id: number }[]>('/api/jobs', expandMatrix(counted))).map((r) => r.job_id);
    // ss jobs go in through server A; their builds run on A's boxes, the tests on B's.
    const ssJobs = [];
    for (const commit of ['v1', 'v2']) for (const config of ['loud', 'quiet']) for (let k = 0; k < 3; k++) ssJobs.push({ suite: 'use-hello-count', testbox: 'dc', os_arch: 'riscv64', runtime: 60, 'use-hello-count': { runlog }, ss: { hello: { commit, config, buildlog } } });
    const ssIds = (await a.post<{ job_id: number }[]>('/api/jobs', ssJobs)).map((r) => r.job_id);

    const all = await Promise.all([...matrixIds, ...ssIds].map((id) => finished(a, id, 120_000)));
    for (const j of all) assert.equal(j.job_health, 'success', `job ${j.id}: ${j.job_health} ${JSON.stringify((await a.get<Job>(`/api/jobs/${j.id}`)).timeline)}`);

    // Exactly once, by the suites' own record.
    const runs = readFileSync(runlog, 'utf8').trim().split('\n').map(Number);
    assert.equal(runs.length, matrixIds.length + ssIds.length);
    assert.deepEqual([...runs].sort((x, y) => x - y), [...matrixIds, ...ssIds].sort((x, y) => x - y));

    // Each of the four builds once, by the recipe's own record.
    const builds = readFileSync(buildlog, 'utf8').trim().split('\n');
    assert.equal(builds.length, 4, builds.join('\n') + '\n' + JSON.stringify(await b.get('/api/builds'), null, 1));
    assert.equal(new Set(builds.map((l) => l.split(' ').slice(0, 2).join(' '))).size, 4);
    const cache = await b.get<Build[]>('/api/builds');
    assert.deepEqual(cache.map((x) => x.state), ['succeeded', 'succeeded', 'succeeded', 'succeeded']);

    // Every ss job was released by a build closed through server A and ran on a box of server B.
    for (const id of ssIds) {
      const j = all.find((x) => x.id === id)!;
      assert.match(String(j.testbox_host), /^b-rv-/);
      const release = j.timeline!.find((e) => e.event === 'release')!;
      const build = await a.get<Job>(`/api/jobs/${release.pkgbuild_job as number}`);
      assert.match(String(build.testbox_host), /^a-dc-/);
    }
    // And the matrix submitted through B ran on A's boxes.
    for (const id of matrixIds) assert.match(String(all.find((x) => x.id === id)!.testbox_host), /^a-dc-/);
  });

  test('many clients claiming at once through both servers never get the same job', async () => {
    const n = 240;
    const ids = (await a.post<{ job_id: number }[]>('/api/jobs', Array.from({ length: n }, () => ({ suite: 'boot-test', testbox: 'hw-claim', os_arch: ARCH, memory_minimum: 1 })))).map((r) => r.job_id);
    const clients = Array.from({ length: 16 }, (_, i) => ({ name: `claimer-${i}`, api: i % 2 ? a : b }));
    for (const c of clients) await c.api.post('/api/testboxes/register', { hostname: c.name, type: 'hw', arch: ARCH, max_memory: 10_000, cpus: 1 });
    const claimed: number[] = [];
    await Promise.all(
      clients.map(async (c) => {
        const mine: number[] = [];
        for (;;) {
          // A box whose heartbeats stop is lost and gets no job: these claimers heartbeat as a testbox does,
          // naming the jobs they hold (a box that says it does not run a job handed to it more than a few
          // seconds ago has it handed out again — which a loaded machine reaches within this test).
          await c.api.post(`/api/testboxes/${c.name}/heartbeat`, { running: mine });
          const res = await c.api.raw('GET', `/api/testboxes/${c.name}/next`, { query: { wait: 0 } });
          if (res.status === 204) return;
          const id = ((await res.json()) as { job: { id: number } }).job.id;
          mine.push(id);
          claimed.push(id);
        }
      }),
    );
    assert.equal(claimed.length, n, 'every job handed out');
    assert.equal(new Set(claimed).size, n, 'none twice');
    assert.deepEqual([...claimed].sort((x, y) => x - y), ids);
    // (The claimers never run their jobs; they are cancelled now.)
    for (const id of ids) await a.post(`/api/jobs/${id}/cancel`).catch(() => {});
  });
});

/** The matrix as the CLI would expand it: one job object per n. */
function expandMatrix(job: { count: { runlog: string; n: number[] } } & Record<string, unknown>): unknown[] {
  return job.count.n.map((n) => ({ ...job, count: { runlog: job.count.runlog, n } }));
}
