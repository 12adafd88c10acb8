// Why a queued job waits (GET /api/jobs/:id wait_reason, every kind), the
// submit's warning for a job no registered testbox can take, queue_timeout
// (the sweep finishes it unrunnable, the reason in its timeline), and
// testbox health: infrastructure failures in a row take a box out of
// dispatch until POST /api/testboxes/:host/enable — driven with app.inject().
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from 'typebox';
import { Job, SubmitResults, Testbox } from '../../src/api/contract.ts';
import { body, BOX, BUILD_BOX, refusal, testApp, type TestApp } from './app.ts';

type Submitted = { job_id: number; result_root: string; warning?: string }[];

describe('routes: why a job waits', () => {
  let a: TestApp;
  before(async () => (a = await testApp({ queue_timeout: 3600, testbox_max_infra_failures: 2 })));
  after(() => a.close());

  const submit = async (payload: unknown) => body<Submitted>(await a.inject({ method: 'POST', url: '/api/jobs', payload: payload as object }), 200, SubmitResults);
  const job = async (id: number) => body<Job>(await a.inject({ url: `/api/jobs/${id}` }), 200, Job);
  const register = async (box: object) => body(await a.inject({ method: 'POST', url: '/api/testboxes/register', payload: box }), 200);
  const next = (host: string) => a.inject({ url: `/api/testboxes/${host}/next?wait=0` });

  test('no registered testbox: the submit warns, the job says so, and it ends unrunnable at queue_timeout', async () => {
    const [vm] = await submit({ suite: 'boot-test', testbox: 'vm-2p8g' });
    assert.match(vm!.warning ?? '', /no registered testbox can take it: testbox vm-2p8g needs a vm box/);
    const j = await job(vm!.job_id);
    assert.equal(j.wait_reason?.kind, 'no_testbox');
    assert.equal(j.wait_reason?.matching, 0);
    assert.ok(j.wait_reason?.timeout_at, 'it says when it gives up');
    const page = await a.inject({ url: `/ui/jobs/${vm!.job_id}` });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<dt>waiting<\/dt><dd class="wait-reason"><span class="no_testbox">no_testbox<\/span> no registered testbox can take it/);

    await register(BOX);
    const [big] = await submit({ suite: 'boot-test', memory_minimum: 64 });
    assert.match(big!.warning ?? '', /with 64 GiB; registered: dc\/\S+ 8 GiB/);
    assert.equal((await job(big!.job_id)).wait_reason?.kind, 'no_testbox');
    const [fits] = await submit({ suite: 'boot-test' });
    assert.equal(fits!.warning, undefined, 'a job a box can take is not warned about');

    // An hour on, the sweep ends both, with the reason in the timeline; the job that fits waits on.
    const clock = a.server.scheduler.ctx;
    const real = clock.now;
    clock.now = () => real() + 3601_000;
    try {
      await register(BOX); // still heard from, an hour on
      const report = await a.server.scheduler.sweep();
      assert.deepEqual(report.finished.filter((f) => f.health === 'unrunnable').map((f) => f.id).sort(), [vm!.job_id, big!.job_id].sort());
    } finally {
      clock.now = real;
    }
    const done = await job(vm!.job_id);
    assert.equal(done.job_stage, 'finish');
    assert.equal(done.job_health, 'unrunnable');
    assert.equal(done.wait_reason ?? null, null);
    const fin = done.timeline!.find((e) => e.event === 'finish')!;
    assert.match(String(fin.reason), /no registered testbox can take it.*queue_timeout 3600 s/);
    assert.equal((await job(fits!.job_id)).job_stage, 'submit');
    // Filtered by the new health like any other.
    const list = body<Job[]>(await a.inject({ url: '/api/jobs?health=unrunnable' }), 200, Type.Array(Job));
    assert.equal(list.length, 2);
    // The job that fits is taken, so the next tests start with an idle box.
    assert.equal(body<{ job: Job }>(await next(BOX.hostname), 200).job.id, fits!.job_id);
    await a.inject({ method: 'POST', url: `/api/jobs/${fits!.job_id}/close`, payload: { testbox: BOX.hostname, health: 'success' } });
  });

  test('wait_reason is the scheduler\'s: a job may not submit one', async () => {
    const b = refusal(await a.inject({ method: 'POST', url: '/api/jobs', payload: { suite: 'boot-test', wait_reason: { kind: 'busy' } } }), 400, 'invalid_job');
    assert.match(b.message, /wait_reason/);
  });

  test('busy: the matching boxes are taken, and the job says its place in the queue', async () => {
    const [first, second, third] = await submit([{ suite: 'boot-test', memory_minimum: 8 }, { suite: 'boot-test', memory_minimum: 8 }, { suite: 'boot-test', memory_minimum: 8 }]);
    assert.equal(body<{ job: Job }>(await next(BOX.hostname), 200).job.id, first!.job_id);
    const w2 = (await job(second!.job_id)).wait_reason!;
    const w3 = (await job(third!.job_id)).wait_reason!;
    assert.equal(w2.kind, 'busy');
    assert.equal(w2.matching, 1);
    assert.equal(w2.position, 1);
    assert.equal(w3.position, 2);
    assert.match(w3.message, /1 testbox\(es\) match, all busy; position 2 in the queue/);
    // The list carries the short reason too.
    const queued = body<Job[]>(await a.inject({ url: '/api/jobs?stage=submit' }), 200, Type.Array(Job));
    assert.ok(queued.every((q) => q.wait_reason?.kind === 'busy'));
    for (const j of [second, third]) await a.inject({ method: 'POST', url: `/api/jobs/${j!.job_id}/cancel` });
    await a.inject({ method: 'POST', url: `/api/jobs/${first!.job_id}/close`, payload: { testbox: BOX.hostname, health: 'success' } });
  });

  test('build: a job waiting on its ss build names the build, its state and its pkgbuild job', async () => {
    // A build whose pkgbuild job no box can take (a group of its own, none registered) is warned about too.
    const [stuck] = await submit({ suite: 'use-hello', ss: { hello: { commit: 'v1', testbox: 'vm-build' } } });
    assert.match(stuck!.warning ?? '', /no registered testbox can take its build's pkgbuild job \d+ \(testbox vm-build\)/);
    assert.match((await job(stuck!.job_id)).wait_reason!.message, /\(submit; no registered testbox can take it: testbox vm-build\)/);
    await a.inject({ method: 'POST', url: `/api/jobs/${stuck!.job_id}/cancel` });

    const [r] = await submit({ suite: 'use-hello', ss: { hello: { commit: 'v2' } } });
    assert.equal(r!.warning, undefined, 'box-1 can take the build (dc)');
    const w = (await job(r!.job_id)).wait_reason!;
    assert.equal(w.kind, 'build');
    assert.ok(w.build_key && /^[0-9a-f]{64}$/.test(w.build_key));
    assert.match(w.message, /waiting on build [0-9a-f]{12} of hello queued, pkgbuild job \d+ \(submit\)/);
    await register(BUILD_BOX);
    assert.equal(body<{ job: Job }>(await next(BUILD_BOX.hostname), 200).job.suite, 'pkgbuild');
    assert.match((await job(r!.job_id)).wait_reason!.message, /of hello building, pkgbuild job \d+ \(boot on build-1\)/);
    await a.inject({ method: 'POST', url: `/api/jobs/${r!.job_id}/cancel` });
  });

  test('pinned: a job only one box may take says which and how that box is', async () => {
    const [r] = await submit({ suite: 'boot-test' });
    await a.server.store.db.updateTable('jobs').set({ pinned_host: 'box-9' }).where('id', '=', r!.job_id).execute();
    const w = (await job(r!.job_id)).wait_reason!;
    assert.equal(w.kind, 'pinned');
    assert.match(w.message, /pinned to testbox box-9, not registered/);
    await a.inject({ method: 'POST', url: `/api/jobs/${r!.job_id}/cancel` });
  });

  test('unhealthy: infrastructure failures in a row take the box out of dispatch; enable brings it back', async () => {
    // Two abnormal closes in a row (testbox_max_infra_failures: 2), the first interrupted by nothing.
    for (let i = 0; i < 2; i++) {
      const [r] = await submit({ suite: 'boot-test' });
      assert.equal(body<{ job: Job }>(await next(BOX.hostname), 200).job.id, r!.job_id);
      // Started, then lost by the box's fault (a job closed abnormal before it started is handed out again instead).
      body(await a.inject({ method: 'POST', url: `/api/jobs/${r!.job_id}/stage`, payload: { testbox: BOX.hostname, stage: 'running' } }), 200);
      body(await a.inject({ method: 'POST', url: `/api/jobs/${r!.job_id}/close`, payload: { testbox: BOX.hostname, health: 'abnormal' } }), 200);
    }
    const boxes = body<Testbox[]>(await a.inject({ url: '/api/testboxes' }), 200, Type.Array(Testbox));
    const box = boxes.find((b) => b.hostname === BOX.hostname)!;
    assert.equal(box.state, 'disabled');
    assert.equal(box.infra_failures, 2);
    assert.match(box.disabled_reason ?? '', /2 infrastructure failures in a row \(the last: job \d+, closed abnormal by the testbox\)/);

    // build-1 (of the build test) matches too: let it fall silent, so box-1 is the only box the job could use.
    await new Promise((r) => setTimeout(r, 1700));
    body(await a.inject({ method: 'POST', url: `/api/testboxes/${BOX.hostname}/heartbeat`, payload: {} }), 200);
    const front = await a.inject({ url: '/' });
    assert.match(front.body, /<span class="disabled">disabled<\/span> <span class="muted">2 infrastructure failures in a row [^<]*; stacklab testbox enable box-1, or a passing stacklab testbox health-check box-1 JOBFILE<\/span>/);
    const [waiting] = await submit({ suite: 'boot-test' });
    assert.equal((await next(BOX.hostname)).statusCode, 204, 'a disabled box gets no job');
    const w = (await job(waiting!.job_id)).wait_reason!;
    assert.equal(w.kind, 'unhealthy');
    assert.equal(w.matching, 2);
    assert.match(w.message, /box-1 out of dispatch: 2 infrastructure failures/);
    assert.match(w.message, /build-1 lost/);

    refusal(await a.inject({ method: 'POST', url: '/api/testboxes/no-such-box/enable' }), 404, 'not_found');
    const back = body<Testbox>(await a.inject({ method: 'POST', url: `/api/testboxes/${BOX.hostname}/enable` }), 200, Testbox);
    assert.equal(back.state, 'idle');
    assert.equal(back.infra_failures, 0);
    assert.equal(body<{ job: Job }>(await next(BOX.hostname), 200).job.id, waiting!.job_id);
    await a.inject({ method: 'POST', url: `/api/jobs/${waiting!.job_id}/close`, payload: { testbox: BOX.hostname, health: 'success' } });
  });

  test('a verdict of the job itself clears the count: failures must be in a row', async () => {
    const close = async (health: string) => {
      const [r] = await submit({ suite: 'boot-test' });
      body(await next(BOX.hostname), 200);
      body(await a.inject({ method: 'POST', url: `/api/jobs/${r!.job_id}/stage`, payload: { testbox: BOX.hostname, stage: 'running' } }), 200);
      body(await a.inject({ method: 'POST', url: `/api/jobs/${r!.job_id}/close`, payload: { testbox: BOX.hostname, health } }), 200);
    };
    await close('abnormal');
    await close('failed');
    await close('abnormal');
    const box = body<Testbox[]>(await a.inject({ url: '/api/testboxes' }), 200).find((b) => b.hostname === BOX.hostname)!;
    assert.equal(box.state, 'idle');
    assert.equal(box.infra_failures, 1);
  });
});

describe('routes: testbox enable with accounts on', () => {
  let a: TestApp;
  before(async () => (a = await testApp({ accounts: true })));
  after(() => a.close());

  test('only an admin may enable a box', async () => {
    const { addAccount } = await import('../../src/store/credentials.ts');
    const admin = await addAccount(a.server.store.db, { name: 'root', admin: true }, Date.now());
    const user = await addAccount(a.server.store.db, { name: 'alice' }, Date.now());
    const { registerTestbox } = await import('../../src/store/testboxes.ts');
    await registerTestbox(a.server.store.db, BOX, Date.now());
    const enable = (token?: string) => a.inject({ method: 'POST', url: `/api/testboxes/${BOX.hostname}/enable`, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
    refusal(await enable(), 401, 'unauthorized');
    refusal(await enable(user), 403, 'forbidden');
    body(await enable(admin), 200, Testbox);

    // a health check likewise, and it must fit the box
    const check = (job: unknown, token?: string) =>
      a.inject({ method: 'POST', url: `/api/testboxes/${BOX.hostname}/health-check`, payload: job as object, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
    refusal(await check({ suite: 'boot-test' }), 401, 'unauthorized');
    refusal(await check({ suite: 'boot-test' }, user), 403, 'forbidden');
    refusal(await check({ suite: 'boot-test', testbox: 'vm-2p8g' }, admin), 400, 'invalid_job');
    refusal(await check({ suite: 'no-such-suite' }, admin), 400, 'invalid_job');
    const [job] = [body<{ job_id: number }>(await check({ suite: 'boot-test' }, admin), 200)];
    const shown = body<Job>(await a.inject({ url: `/api/jobs/${job!.job_id}`, headers: { authorization: `Bearer ${admin}` } }), 200);
    assert.equal(shown.wait_reason?.kind, 'pinned');
    assert.match(shown.wait_reason!.message, new RegExp(`a health check of testbox ${BOX.hostname} \\(it runs there even out of dispatch\\)`));
    const nobox = await a.inject({ method: 'POST', url: '/api/testboxes/nobody/health-check', payload: { suite: 'boot-test' }, headers: { authorization: `Bearer ${admin}` } });
    refusal(nobox, 404, 'not_found');
  });
});
