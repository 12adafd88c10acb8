// Routes of src/server/routes/bisects.ts: start, list, view, cancel — each
// answer checked against the contract. A bisect's probes are real jobs; a
// cancel ends it and its probes in one step.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from 'typebox';
import { Bisect, type Job } from '../../src/api/contract.ts';
import { body, refusal, testApp, type TestApp } from './app.ts';

describe('routes: bisects', () => {
  let a: TestApp;
  before(async () => (a = await testApp()));
  after(() => a.close());

  const start = (payload: unknown) => a.inject({ method: 'POST', url: '/api/bisects', payload: payload as object });
  const job = { suite: 'use-hello', ss: { hello: { commit: 'v4' } } };

  test('a request that cannot start is refused with the reason', async () => {
    refusal(await start({ job, pkg: 'hello', good: 'v1' }), 400, 'invalid_request'); // no bad
    refusal(await start({ job, pkg: 'hello', good: '-x', bad: 'v4' }), 400, 'invalid_request');
    refusal(await start({ job: { suite: 'use-hello' }, pkg: 'hello', good: 'v1', bad: 'v4' }), 400, 'bad_bisect');
    refusal(await start({ job, pkg: 'hello', good: 'v4', bad: 'v1' }), 400, 'bad_bisect');
    refusal(await start({ job, pkg: 'hello', good: 'v1', bad: 'v4', criterion: 'perf' }), 400, 'bad_bisect');
    refusal(await start({ job, pkg: 'hello', good: 'no-such-tag', bad: 'v4' }), 400, 'unknown_ref');
    // the rule's options: bounded by the schema, checked against the criterion
    for (const bad of [{ confidence: 0.5 }, { confidence: 1 }, { confidence: 'high' }, { budget: 0 }, { budget: 10_001 }, { budget: 2.5 }, { deterministic: 'yes' }]) {
      refusal(await start({ job, pkg: 'hello', good: 'v1', bad: 'v4', ...bad }), 400, 'invalid_request');
    }
    const perf = { job, pkg: 'hello', good: 'v1', bad: 'v4', criterion: 'perf', metric: 'use-hello.t', direction: 'lower' };
    assert.match(refusal(await start({ ...perf, confidence: 0.9, false_positives: true }), 400, 'bad_bisect').message, /^confidence, false_positives are for pass\/fail criteria/);
    assert.match(refusal(await start({ job, pkg: 'hello', good: 'v1', bad: 'v4', interleave_ends: true }), 400, 'bad_bisect').message, /interleave_ends is for the perf criterion/);
    assert.match(refusal(await start({ job, pkg: 'hello', good: 'v1', bad: 'v4', criterion: 'build', deterministic: false }), 400, 'bad_bisect').message, /a build bisect in the lab is deterministic/);
  });

  test('the rule\'s options reach the engine and are shown as asked', async () => {
    const b = body<Bisect>(await start({ job, pkg: 'hello', good: 'v1', bad: 'v4', confidence: 0.99, budget: 40, false_positives: true, slots: 1 }), 200, Bisect);
    assert.equal(b.request.confidence, 0.99);
    assert.equal(b.request.budget, 40);
    assert.equal(b.request.false_positives, true);
    const row = (await a.server.scheduler.ctx.store.db.selectFrom('bisects').select('spec').where('id', '=', b.id).executeTakeFirstOrThrow()).spec;
    assert.deepEqual(JSON.parse(row), { criterion: 'function', confidence: 0.99, budget: 40, falsePositives: true });
    body<Bisect>(await a.inject({ method: 'POST', url: `/api/bisects/${b.id}/cancel` }), 200, Bisect);
  });

  test('a started bisect submits probe jobs; cancel ends it and cancels its probes; a second cancel conflicts', async () => {
    const b = body<Bisect>(await start({ job, pkg: 'hello', good: 'v1', bad: 'v4', criterion: 'build', slots: 2 }), 200, Bisect);
    assert.equal(b.state, 'running');
    assert.equal(b.candidates, 3);
    assert.deepEqual(b.request.good, ['v1']);
    assert.equal(b.request.bad, 'v4');
    // The driver submits its first round on its own.
    let view = b;
    for (let i = 0; i < 100 && view.jobs.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      view = body<Bisect>(await a.inject({ url: `/api/bisects/${b.id}` }), 200, Bisect);
    }
    assert.ok(view.jobs.length > 0, 'the bisect submitted probes');
    const cancelled = body<Bisect>(await a.inject({ method: 'POST', url: `/api/bisects/${b.id}/cancel` }), 200, Bisect);
    assert.equal(cancelled.state, 'cancelled');
    for (const p of cancelled.jobs) assert.equal(body<Job>(await a.inject({ url: `/api/jobs/${p.job_id}` }), 200).job_health, 'cancel');
    refusal(await a.inject({ method: 'POST', url: `/api/bisects/${b.id}/cancel` }), 409, 'conflict');
    const list = body<Bisect[]>(await a.inject({ url: '/api/bisects' }), 200, Type.Array(Bisect));
    assert.equal(list[0]!.id, b.id);
  });

  test('an unknown bisect is a 404', async () => {
    refusal(await a.inject({ url: '/api/bisects/999' }), 404, 'not_found');
    refusal(await a.inject({ method: 'POST', url: '/api/bisects/999/cancel' }), 404, 'not_found');
  });
});
