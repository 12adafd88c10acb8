// Routes of src/server/routes/builds.ts: the build cache as a list and one
// build by key or key prefix, each answer checked against the contract.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from 'typebox';
import { Build } from '../../src/api/contract.ts';
import { body, refusal, testApp, type TestApp } from './app.ts';

describe('routes: builds', () => {
  let a: TestApp;
  before(async () => (a = await testApp()));
  after(() => a.close());

  test('a job with ss makes one queued build with its inputs; it reads back whole by key and by prefix', async () => {
    const job = { suite: 'use-hello', ss: { hello: { commit: 'v2', config: 'loud', cflags: '-O2' } } };
    const [r] = body<{ job_id: number }[]>(await a.inject({ method: 'POST', url: '/api/jobs', payload: job }), 200);
    const list = body<Build[]>(await a.inject({ url: '/api/builds' }), 200, Type.Array(Build));
    assert.equal(list.length, 1);
    const b = list[0]!;
    assert.equal(b.pkg, 'hello');
    assert.equal(b.commit, a.ss.hello.good);
    assert.equal(b.commit_ref, 'v2');
    assert.equal(b.upstream_url, a.ss.hello.repo);
    assert.deepEqual(b.params, { cflags: '-O2' });
    assert.equal(b.state, 'queued');
    assert.equal(b.waiting, 1);
    const full = body<Build>(await a.inject({ url: `/api/builds/${b.key.slice(0, 12)}` }), 200, Build);
    assert.equal(full.key, b.key);
    assert.deepEqual(full.jobs, [{ job_id: r!.job_id, wait: 'waiting' }]);
    assert.equal(full.pkgbuild_jobs!.length, 1);
    assert.equal(full.pkgbuild_jobs![0]!.stage, 'submit');
  });

  test('filters are checked; an unknown key is a 404', async () => {
    assert.equal(body<Build[]>(await a.inject({ url: '/api/builds?state=succeeded' }), 200).length, 0);
    assert.equal(body<Build[]>(await a.inject({ url: '/api/builds?pkg=hello&state=queued' }), 200).length, 1);
    refusal(await a.inject({ url: '/api/builds?state=great' }), 400, 'invalid_request');
    refusal(await a.inject({ url: '/api/builds?pkg=../x' }), 400, 'invalid_request');
    refusal(await a.inject({ url: `/api/builds/${'0'.repeat(64)}` }), 404, 'not_found');
    refusal(await a.inject({ url: '/api/builds/xyz' }), 400, 'invalid_request');
  });
});
