// Routes of src/server/routes/testboxes.ts: the testbox protocol —
// register, heartbeat, the long-poll for work, stage, uploads, close — and
// the testbox list, each answer checked against the contract.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from 'typebox';
import { Assignment, HeartbeatReply, Job, Ok, Registered, ResultStored, Testbox } from '../../src/api/contract.ts';
import { body, BOX, refusal, testApp, type TestApp } from './app.ts';

describe('routes: testboxes and the testbox protocol', () => {
  let a: TestApp;
  before(async () => (a = await testApp()));
  after(() => a.close());

  const post = (url: string, payload: unknown) => a.inject({ method: 'POST', url, payload: payload as object });
  const put = (url: string, payload: string) => a.inject({ method: 'PUT', url, payload, headers: { 'content-type': 'application/octet-stream' } });

  test('registration checks its body: type, name, numbers, and no unknown fields', async () => {
    body(await post('/api/testboxes/register', BOX), 200, Registered);
    refusal(await post('/api/testboxes/register', { ...BOX, type: 'container' }), 400, 'invalid_request');
    refusal(await post('/api/testboxes/register', { ...BOX, hostname: '../etc' }), 400, 'invalid_request');
    refusal(await post('/api/testboxes/register', { ...BOX, max_memory: -1 }), 400, 'invalid_request');
    refusal(await post('/api/testboxes/register', { ...BOX, cpus: 2 ** 60 }), 400, 'invalid_request');
    refusal(await post('/api/testboxes/register', { ...BOX, admin: true }), 400, 'invalid_request');
    refusal(await post('/api/testboxes/register', { ...BOX, build_env: { 'a-b': '1' } }), 400, 'invalid_request');
    refusal(await post('/api/testboxes/register', { ...BOX, build_env: { big: 'x'.repeat(4097) } }), 400, 'invalid_request');
    refusal(await post('/api/testboxes/register', { ...BOX, build_env: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`v${i}`, '1'])) }), 400, 'invalid_request');
    // a box's build settings are what it last registered with
    body(await post('/api/testboxes/register', { ...BOX, build_env: { keep_trees: '2', CCACHE_MAXSIZE: '20G' } }), 200, Registered);
    const listed = () => a.inject({ url: '/api/testboxes' }).then((r) => body<Testbox[]>(r, 200, Type.Array(Testbox)));
    assert.deepEqual((await listed())[0]!.build_env, { keep_trees: '2', CCACHE_MAXSIZE: '20G' });
    body(await post('/api/testboxes/register', BOX), 200, Registered);
    assert.deepEqual((await listed())[0]!.build_env, {}, 'restarted without them, it has none');
    const boxes = body<Testbox[]>(await a.inject({ url: '/api/testboxes' }), 200, Type.Array(Testbox));
    assert.deepEqual(boxes.map((b) => [b.hostname, b.state]), [['box-1', 'idle']]);
  });

  test('a heartbeat of an unknown box is a 404; a known one answers the jobs it holds', async () => {
    refusal(await post('/api/testboxes/nobody/heartbeat', {}), 404, 'not_found');
    assert.deepEqual(body(await post('/api/testboxes/box-1/heartbeat', {}), 200, HeartbeatReply), { jobs: [] });
  });

  test('the long-poll answers 204 without work, then the job with its assignment; a held job is reported, uploaded into and closed', async () => {
    const idle = await a.inject({ url: '/api/testboxes/box-1/next?wait=0' });
    assert.equal(idle.statusCode, 204);
    const [r] = body<{ job_id: number }[]>(await post('/api/jobs', { suite: 'boot-test', 'boot-test': { n: 1 } }), 200);
    const asg = body<Assignment>(await a.inject({ url: '/api/testboxes/box-1/next?wait=0' }), 200, Assignment);
    assert.equal(asg.job.id, r!.job_id);
    assert.equal(asg.job.job_stage, 'boot');
    assert.equal(asg.job.testbox_host, 'box-1');
    assert.equal(asg.job_cgz, `/job_initrd_tmpfs/${r!.job_id}/job.cgz`);
    assert.deepEqual(asg.artifacts, []);
    assert.deepEqual(body(await post('/api/testboxes/box-1/heartbeat', {}), 200, HeartbeatReply), { jobs: [r!.job_id] });

    const id = r!.job_id;
    // Another box cannot report on it; stages only move forward.
    body(await post('/api/testboxes/register', { ...BOX, hostname: 'box-2' }), 200);
    refusal(await post(`/api/jobs/${id}/stage`, { testbox: 'box-2', stage: 'running' }), 409, 'conflict');
    refusal(await post(`/api/jobs/${id}/stage`, { testbox: 'box-1', stage: 'finish' }), 400, 'invalid_request');
    body(await post(`/api/jobs/${id}/stage`, { testbox: 'box-1', stage: 'running' }), 200, Ok);

    // Uploads land in the job's result root and nowhere else.
    const stored = body<{ path: string; bytes: number }>(await put(`/api/jobs/${id}/result/out/notes.txt?testbox=box-1`, 'hello'), 200, ResultStored);
    assert.equal(stored.bytes, 5);
    assert.equal(readFileSync(join(a.server.scheduler.ctx.config.srvDir, stored.path), 'utf8'), 'hello');
    refusal(await put(`/api/jobs/${id}/result/..%2F..%2Fescape?testbox=box-1`, 'x'), 400, 'bad_path');
    refusal(await put(`/api/jobs/${id}/result/job.yaml?testbox=box-1`, 'x'), 400, 'bad_path');
    refusal(await put(`/api/jobs/${id}/result/x?testbox=box-2`, 'x'), 409, 'conflict');
    refusal(await put(`/api/jobs/${id}/artifact/pkg.cgz?testbox=box-1`, 'x'), 400, 'not_a_build');
    body(await put(`/api/jobs/${id}/result/stats.json?testbox=box-1`, '{"boot-test.n": 1}'), 200);

    refusal(await post(`/api/jobs/${id}/close`, { testbox: 'box-1', health: 'dependency_failed' }), 400, 'invalid_request');
    body(await post(`/api/jobs/${id}/close`, { testbox: 'box-1', health: 'success' }), 200, Ok);
    refusal(await post(`/api/jobs/${id}/close`, { testbox: 'box-1', health: 'success' }), 409, 'conflict');
    const job = body<Job>(await a.inject({ url: `/api/jobs/${id}` }), 200, Job);
    assert.equal(job.job_health, 'success');
    assert.deepEqual(job.stats, { 'boot-test.n': 1 });
    assert.deepEqual(job.timeline!.map((e) => e.event), ['submit', 'boot', 'running', 'finish']);
  });

  test('the long-poll of an unknown box is a 404 and its wait is bounded by the schema', async () => {
    refusal(await a.inject({ url: '/api/testboxes/nobody/next?wait=0' }), 404, 'not_found');
    refusal(await a.inject({ url: '/api/testboxes/box-1/next?wait=3600' }), 400, 'invalid_request');
  });
});
