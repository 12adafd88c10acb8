// Routes of src/server/routes/dashboard.ts: the HTML pages at /, a job's and
// a bisect's, from the same scheduler calls as the API.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { body, testApp, type TestApp } from './app.ts';

describe('routes: dashboard', () => {
  let a: TestApp;
  before(async () => (a = await testApp()));
  after(() => a.close());

  test('the overview lists jobs, filters them, and a job has its page; bad filters and ids are refused', async () => {
    const [r] = body<{ job_id: number }[]>(await a.inject({ method: 'POST', url: '/api/jobs', payload: { suite: 'boot-test', labels: { note: '<b>x</b>' } } }), 200);
    const home = await a.inject({ url: '/' });
    assert.equal(home.statusCode, 200);
    assert.match(home.headers['content-type'] as string, /text\/html/);
    assert.match(home.body, new RegExp(`/ui/jobs/${r!.job_id}`));
    const queued = await a.inject({ url: '/?stage=submit' });
    assert.match(queued.body, new RegExp(`/ui/jobs/${r!.job_id}`));
    const none = await a.inject({ url: '/?stage=finish' });
    assert.doesNotMatch(none.body, new RegExp(`/ui/jobs/${r!.job_id}"`));
    assert.equal((await a.inject({ url: '/?stage=bogus' })).statusCode, 400);
    const page = await a.inject({ url: `/ui/jobs/${r!.job_id}` });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /boot-test/);
    assert.doesNotMatch(page.body, /<b>x<\/b>/);
    assert.doesNotMatch(page.body, /job\.yaml/, 'no job.yaml before a testbox took the job');
    assert.equal((await a.inject({ url: '/ui/jobs/999999' })).statusCode, 404);
    assert.equal((await a.inject({ url: '/ui/bisects/999999' })).statusCode, 404);
  });
});
