// /metrics after a day in a small lab (issue 13): a real server and testbox
// run test jobs, ss builds (one made, one joined, one reused, one failing and
// its remembered failure) and a cancel to the end; the scrape must then add
// up — every job submitted, pkgbuild jobs too, has finished once, each stage,
// build, testbox and bisect state is present (0 when none), and the waits
// were observed once per job. Two servers on one PostgreSQL report the same
// gauges, whichever did the work.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../support/tmp.ts';
import { startServer, startTestbox, type Proc } from '../support/procs.ts';
import { makeSsLab, type SsLab } from '../support/ss-lab.ts';
import { finished } from '../support/wait.ts';
import { createPgDatabase, postgresAvailable } from '../support/db.ts';
import { buildConfig, hostArch } from '../../src/config.ts';
import { buildServer, type ServerHandle } from '../../src/server/app.ts';
import { ApiClient } from '../../src/api/client.ts';
import { BISECT_STATES, BUILD_STATES } from '../../src/api/contract.ts';
import { STAGES } from '../../src/model/lifecycle.ts';

type Submitted = { job_id: number; result_root: string }[];
type Sample = { name: string; labels: Record<string, string>; value: number };

/** The samples of a Prometheus text exposition. */
function parse(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of a metric's samples whose labels include `where`. */
const sum = (s: Sample[], name: string, where: Record<string, string> = {}) =>
  s.filter((x) => x.name === name && Object.entries(where).every(([k, v]) => x.labels[k] === v)).reduce((a, x) => a + x.value, 0);

/** The value of each label of a gauge, exactly the label values present. */
const gauge = (s: Sample[], name: string, label: string) => Object.fromEntries(s.filter((x) => x.name === name).map((x) => [x.labels[label]!, x.value]));

describe('metrics: the counters agree after a day in the lab', () => {
  const t = tempDir();
  let lab: SsLab;
  let server: Proc & { url: string };
  let box: Proc;
  let api: ApiClient;

  before(async () => {
    lab = makeSsLab(t.dir);
    server = await startServer({ data: join(t.dir, 'data'), lab: lab.lab });
    api = new ApiClient(server.url);
    box = await startTestbox({ server: server.url, hostname: 'box-1', workdir: join(t.dir, 'box-1'), extra: ['--slots', '2'] });
  });

  after(async () => {
    await box.kill();
    await server.kill();
    t.cleanup();
  });

  const submit = async (...jobs: unknown[]) => (await api.post<Submitted>('/api/jobs', jobs)).map((r) => r.job_id);
  const hello = (ss: Record<string, string>) => ({ suite: 'use-hello', testbox: 'dc', runtime: 60, ss: { hello: ss } });
  const scrape = async () => parse(await api.get<string>('/metrics'));

  test('an empty lab shows every stage, build, testbox and bisect state at 0', async () => {
    const s = await scrape();
    assert.deepEqual(gauge(s, 'stacklab_jobs', 'stage'), Object.fromEntries(STAGES.map((st) => [st, 0])));
    assert.deepEqual(gauge(s, 'stacklab_builds', 'state'), Object.fromEntries(BUILD_STATES.map((st) => [st, 0])));
    assert.deepEqual(gauge(s, 'stacklab_bisects', 'state'), Object.fromEntries(BISECT_STATES.map((st) => [st, 0])));
    assert.deepEqual(gauge(s, 'stacklab_testboxes', 'state'), { idle: 1, busy: 0, lost: 0 });
    // The benchmarks' floor routes (bench/floor.ts) exist only on their own servers.
    for (const path of ['/bench/floor/wait?wait=0', '/bench/floor/wake', '/bench/floor/submit']) {
      assert.equal((await fetch(`${server.url}${path}`, { method: path.includes('wait') ? 'GET' : 'POST' })).status, 404, path);
    }
  });

  test('submitted, finished, builds requested and the waits add up once everything finished', async () => {
    // One build made and joined in the same submit, a plain job, then the same build reused.
    const [made, joined, plain] = await submit(hello({ commit: 'v2', config: 'loud' }), hello({ commit: 'v2', config: 'loud' }), { suite: 'boot-test', testbox: 'dc' });
    for (const id of [made!, joined!, plain!]) assert.equal((await finished(api, id)).job_health, 'success');
    const [reused] = await submit(hello({ commit: 'v2', config: 'loud' }));
    assert.equal((await finished(api, reused!)).job_health, 'success');
    // A build that fails (its waiter finishes dependency_failed with it), then its remembered failure.
    const [broken] = await submit(hello({ commit: lab.hello.broken }));
    assert.equal((await finished(api, broken!)).job_health, 'dependency_failed');
    const [remembered] = await submit(hello({ commit: lab.hello.broken }));
    assert.equal((await finished(api, remembered!)).job_health, 'dependency_failed');
    // A job no testbox here can take, cancelled.
    const [nobody] = await submit({ suite: 'boot-test', testbox: 'vm-2p8g' });
    await api.post(`/api/jobs/${nobody}/cancel`);
    assert.equal((await finished(api, nobody!)).job_health, 'cancel');

    const s = await scrape();
    const all = (await api.get<{ id: number; suite: string }[]>('/api/jobs', { limit: 1000 })).length;
    assert.equal(all, 9, '7 test jobs and 2 pkgbuild jobs');
    assert.equal(sum(s, 'stacklab_jobs_submitted_total', { kind: 'test' }), 7);
    assert.equal(sum(s, 'stacklab_jobs_submitted_total', { kind: 'pkgbuild' }), 2);
    for (const kind of ['test', 'pkgbuild']) {
      assert.equal(sum(s, 'stacklab_jobs_finished_total', { kind }), sum(s, 'stacklab_jobs_submitted_total', { kind }), `every ${kind} job submitted finished once`);
    }
    assert.equal(sum(s, 'stacklab_jobs_finished_total', { kind: 'test', health: 'success' }), 4);
    assert.equal(sum(s, 'stacklab_jobs_finished_total', { kind: 'test', health: 'dependency_failed' }), 2);
    assert.equal(sum(s, 'stacklab_jobs_finished_total', { kind: 'test', health: 'cancel' }), 1);
    assert.equal(sum(s, 'stacklab_jobs_finished_total', { kind: 'pkgbuild', health: 'success' }), 1);
    assert.equal(sum(s, 'stacklab_jobs_finished_total', { kind: 'pkgbuild', health: 'failed' }), 1);

    assert.deepEqual(gauge(s, 'stacklab_jobs', 'stage'), { submit: 0, boot: 0, running: 0, post_run: 0, finish: 9 });
    assert.deepEqual(gauge(s, 'stacklab_builds', 'state'), { queued: 0, building: 0, succeeded: 1, failed: 1, cancelled: 0 });
    assert.deepEqual(gauge(s, 'stacklab_bisects', 'state'), Object.fromEntries(BISECT_STATES.map((st) => [st, 0])));
    assert.deepEqual(gauge(s, 'stacklab_testboxes', 'state'), { idle: 1, busy: 0, lost: 0 });

    const requested = (outcome: string) => sum(s, 'stacklab_builds_requested_total', { outcome });
    assert.deepEqual({ new: requested('new'), joined: requested('joined'), reused: requested('reused'), failed: requested('failed') }, { new: 2, joined: 1, reused: 1, failed: 1 });

    // Every job handed to the box waited in the queue once; the two held for the good build were released once each.
    const handed = sum(s, 'stacklab_claims_total');
    assert.equal(handed, 6, '4 test jobs that ran and 2 pkgbuild jobs');
    assert.equal(sum(s, 'stacklab_queue_wait_seconds_count', { kind: 'test' }), 4);
    assert.equal(sum(s, 'stacklab_queue_wait_seconds_count', { kind: 'pkgbuild' }), 2);
    assert.equal(sum(s, 'stacklab_build_wait_seconds_count'), 2);
    assert.ok(sum(s, 'stacklab_build_wait_seconds_sum') > 0, 'a build takes time');
  });
});

const pg = await postgresAvailable();

describe('metrics: two servers on one PostgreSQL report the same lab', { skip: pg ? false : 'PostgreSQL not reachable' }, () => {
  const t = tempDir();
  let db: { url: string; drop(): Promise<void> };
  const servers: ServerHandle[] = [];

  before(async () => {
    db = await createPgDatabase();
    const ss = makeSsLab(t.dir);
    for (let i = 0; i < 2; i++) {
      const s = await buildServer(buildConfig({ data: join(t.dir, 'data'), lab: ss.lab, db: db.url, port: 0 }), { logLevel: false });
      await s.app.ready();
      servers.push(s);
    }
  });

  after(async () => {
    for (const s of servers) await s.stop();
    await db.drop();
    t.cleanup();
  });

  test('the gauges are read from the database; the counters are each server\'s own', async () => {
    const [a, b] = servers as [ServerHandle, ServerHandle];
    const scrape = async (s: ServerHandle) => parse((await s.app.inject({ url: '/metrics' })).body);
    const reg = await a.app.inject({ method: 'POST', url: '/api/testboxes/register', payload: { hostname: 'box-1', type: 'dc', arch: hostArch(), max_memory: 8, cpus: 2 } });
    assert.equal(reg.statusCode, 200, reg.body);
    const sub = await a.app.inject({ method: 'POST', url: '/api/jobs', payload: [{ suite: 'boot-test', testbox: 'dc' }, { suite: 'use-hello', testbox: 'dc', ss: { hello: { commit: 'v2' } } }] });
    assert.equal(sub.statusCode, 200, sub.body);
    const next = await b.app.inject({ url: '/api/testboxes/box-1/next?wait=0' });
    assert.equal(next.statusCode, 200, next.body);
    const [sa, sb] = [await scrape(a), await scrape(b)];
    for (const [name, label] of [['stacklab_jobs', 'stage'], ['stacklab_builds', 'state'], ['stacklab_testboxes', 'state'], ['stacklab_bisects', 'state']] as const) {
      assert.deepEqual(gauge(sb, name, label), gauge(sa, name, label), `${name} is the same from both servers`);
    }
    assert.deepEqual(gauge(sa, 'stacklab_jobs', 'stage'), { submit: 2, boot: 1, running: 0, post_run: 0, finish: 0 }, 'a test job and a pkgbuild job queued, one handed out');
    assert.deepEqual(gauge(sa, 'stacklab_testboxes', 'state'), { idle: 0, busy: 1, lost: 0 });
    assert.equal(gauge(sa, 'stacklab_builds', 'state').queued, 1);
    assert.equal(sum(sa, 'stacklab_jobs_submitted_total'), 3, 'server a made the jobs');
    assert.equal(sum(sb, 'stacklab_jobs_submitted_total'), 0);
    assert.equal(sum(sb, 'stacklab_claims_total'), 1, 'server b handed one out');
  });
});
