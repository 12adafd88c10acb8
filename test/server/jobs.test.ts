// Routes of src/server/routes/jobs.ts: submit (JSON and YAML), read, list,
// the timeline long-poll, cancel — each answer checked against the contract.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from 'typebox';
import { EventsPage, Job, SubmitResults } from '../../src/api/contract.ts';
import { body, refusal, testApp, type TestApp } from './app.ts';

describe('routes: jobs', () => {
  let a: TestApp;
  before(async () => (a = await testApp()));
  after(() => a.close());

  const submit = (payload: unknown, contentType?: string) =>
    a.inject({ method: 'POST', url: '/api/jobs', payload: payload as string, ...(contentType ? { headers: { 'content-type': contentType } } : {}) });

  test('a JSON job is accepted and reads back as a Job, its suite parameters and labels kept', async () => {
    const [r] = body<{ job_id: number; result_root: string }[]>(await submit({ suite: 'boot-test', 'boot-test': { n: 3 }, labels: { who: 'me' } }), 200, SubmitResults);
    const job = body<Job>(await a.inject({ url: `/api/jobs/${r!.job_id}` }), 200, Job);
    assert.equal(job.id, r!.job_id);
    assert.equal(job.job_stage, 'submit');
    assert.equal(job.result_root, r!.result_root);
    assert.deepEqual(job['boot-test'], { n: 3 });
    assert.deepEqual(job.labels, { who: 'me' });
    assert.equal(job.timeline![0]!.event, 'submit');
  });

  test('a YAML body expands its matrix; an invalid one points at its line', async () => {
    const ok = body<unknown[]>(await submit('suite: boot-test\nboot-test:\n  n: [1, 2, 3]\n', 'application/yaml'), 200, SubmitResults);
    assert.equal(ok.length, 3);
    const bad = refusal(await submit('suite: boot-test\nruntime: soon\n', 'application/yaml'), 400, 'invalid_job_file');
    assert.match(bad.message, /request body:2:\d+ runtime/);
  });

  test('an invalid JSON job is refused whole with every issue; nothing is submitted', async () => {
    const before = body<Job[]>(await a.inject({ url: '/api/jobs' }), 200, Type.Array(Job)).length;
    const b = refusal(await submit([{ suite: 'boot-test' }, { suite: 'no-such-suite' }, { suite: 'boot-test', priority: 'high' }]), 400, 'invalid_job');
    const issues = (b.details as { issues: { job: number; path: string }[] }).issues;
    assert.deepEqual(issues.map((i) => [i.job, i.path]).sort(), [[1, 'suite'], [2, 'priority']]);
    assert.equal(body<Job[]>(await a.inject({ url: '/api/jobs' }), 200).length, before);
  });

  test('list filters are checked: an unknown stage or health is a 400, not an empty list', async () => {
    refusal(await a.inject({ url: '/api/jobs?stage=bogus' }), 400, 'invalid_request');
    refusal(await a.inject({ url: '/api/jobs?health=great' }), 400, 'invalid_request');
    refusal(await a.inject({ url: '/api/jobs?limit=0' }), 400, 'invalid_request');
    const queued = body<Job[]>(await a.inject({ url: '/api/jobs?stage=submit&limit=2' }), 200, Type.Array(Job));
    assert.equal(queued.length, 2);
    assert.ok(queued.every((j) => j.job_stage === 'submit'));
  });

  test('a job that does not exist is a 404; an id that is not one is a 400', async () => {
    refusal(await a.inject({ url: '/api/jobs/999999' }), 404, 'not_found');
    refusal(await a.inject({ url: '/api/jobs/abc' }), 400, 'invalid_request');
    refusal(await a.inject({ url: `/api/jobs/${2 ** 60}` }), 400, 'invalid_request');
  });

  test('the timeline long-poll answers at once with what is there, and cancel ends the job once', async () => {
    const [r] = body<{ job_id: number }[]>(await submit({ suite: 'boot-test' }), 200);
    const page = body<EventsPage>(await a.inject({ url: `/api/jobs/${r!.job_id}/events?after=0&wait=0` }), 200, EventsPage);
    assert.deepEqual(page.events.map((e) => e.event), ['submit']);
    const cancelled = body<Job>(await a.inject({ method: 'POST', url: `/api/jobs/${r!.job_id}/cancel` }), 200, Job);
    assert.equal(cancelled.job_health, 'cancel');
    refusal(await a.inject({ method: 'POST', url: `/api/jobs/${r!.job_id}/cancel` }), 409, 'conflict');
    const after = body<EventsPage>(await a.inject({ url: `/api/jobs/${r!.job_id}/events?after=${page.events[0]!.id}` }), 200, EventsPage);
    assert.deepEqual(after.events.map((e) => e.event), ['finish']);
    assert.equal(after.job_health, 'cancel');
  });
});
