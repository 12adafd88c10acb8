// The jobs list's filters and paging (GET /api/jobs and the dashboard's `/`),
// the build page and the compare routes' refusals, in-process: jobs of a
// package at two commits, a cancelled job, a running bisect's probes.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from 'typebox';
import { Comparison, Job, type Bisect } from '../../src/api/contract.ts';
import { waitFor } from '../support/wait.ts';
import { body, refusal, testApp, type TestApp } from './app.ts';

describe('routes: job filters, paging, the build page', () => {
  let a: TestApp;
  let v1: number;
  let v2: number;
  let plain: number;
  let cancelled: number;
  let bisectId: number;
  let probes: number[];
  before(async () => {
    a = await testApp();
    const post = async (payload: unknown) => body<{ job_id: number }[]>(await a.inject({ method: 'POST', url: '/api/jobs', payload: payload as object }), 200);
    [{ job_id: v1 }] = (await post({ suite: 'use-hello', ss: { hello: { commit: 'v1' } } })) as [{ job_id: number }];
    [{ job_id: v2 }] = (await post({ suite: 'use-hello', ss: { hello: { commit: 'v2' } } })) as [{ job_id: number }];
    [{ job_id: plain }, { job_id: cancelled }] = (await post([{ suite: 'boot-test' }, { suite: 'boot-test' }])) as [{ job_id: number }, { job_id: number }];
    body(await a.inject({ method: 'POST', url: `/api/jobs/${cancelled}/cancel` }), 200);
    // a running bisect (no testbox: its probes stay queued)
    const b = body<Bisect>(await a.inject({ method: 'POST', url: '/api/bisects', payload: { job: { suite: 'use-hello', ss: { hello: { commit: 'v4' } } }, pkg: 'hello', good: 'v1', bad: 'v4', criterion: 'build', slots: 1 } }), 200);
    bisectId = b.id;
    probes = (await waitFor('the first probe', async () => {
      const v = body<Bisect>(await a.inject({ url: `/api/bisects/${b.id}` }), 200);
      return v.jobs.length > 0 && v.jobs;
    })).map((j) => j.job_id);
  });
  after(() => a.close());

  const ids = async (query: string) => body<Job[]>(await a.inject({ url: `/api/jobs?${query}` }), 200, Type.Array(Job)).map((j) => j.id);

  test('GET /api/jobs: by package, commit prefix, all non-success, bisect and no bisect; bad values refused', async () => {
    assert.deepEqual(await ids('pkg=hello&bisect=none'), [v2, v1]);
    assert.deepEqual(await ids(`bisect=${bisectId}`), [...probes].sort((x, y) => y - x));
    assert.deepEqual(await ids('bisect=999'), []);
    assert.deepEqual(await ids(`commit=${a.ss.hello.shas[0]!.slice(0, 8)}`), [v1]);
    assert.deepEqual(await ids(`pkg=hello&commit=${a.ss.hello.shas[1]}`), [v2]);
    assert.deepEqual(await ids('pkg=linux'), []);
    assert.deepEqual(await ids('health=not_success'), [cancelled]);
    assert.deepEqual(await ids('health=cancel'), [cancelled]);
    assert.deepEqual(await ids('health=success'), []);
    assert.deepEqual(await ids('bisect=none&suite=boot-test'), [cancelled, plain]);
    assert.deepEqual(await ids(`suite=boot-test&limit=1&before=${cancelled}`), [plain]);
    for (const q of ['commit=XYZ', 'commit=abc', 'bisect=0', 'bisect=some', 'health=bad', 'pkg=Hello World']) refusal(await a.inject({ url: `/api/jobs?${encodeURI(q)}` }), 400, 'invalid_request');
  });

  test("the dashboard's list: the same filters from a form (empty fields are no filter), paging older and back, bisects above the jobs", async () => {
    const page = async (q: string) => {
      const r = await a.inject({ url: `/?${q}` });
      assert.equal(r.statusCode, 200, r.body);
      return r.body;
    };
    const listed = (html: string) => [...html.matchAll(/<tr><td><a href="\/ui\/jobs\/(\d+)">/g)].map((m) => Number(m[1]));
    assert.deepEqual(listed(await page('stage=&health=not_success&suite=&account=&pkg=&commit=&bisect=')), [cancelled]);
    assert.deepEqual(listed(await page('pkg=hello&bisect=none')), [v2, v1]);
    assert.deepEqual(listed(await page(`bisect=${bisectId}`)), [...probes].sort((x, y) => y - x));
    const first = await page('suite=boot-test&limit=1');
    assert.deepEqual(listed(first), [cancelled]);
    const older = /<a class="older" href="\/\?([^"]+)">/.exec(first)![1]!.replaceAll('&#38;', '&');
    assert.match(older, new RegExp(`before=${cancelled}`), "the next page starts below the last one shown");
    const second = await page(older);
    assert.deepEqual(listed(second), [plain]);
    assert.match(second, /class="newest"/);
    assert.doesNotMatch(second, /class="older"/);
    assert.ok(first.indexOf('<h2>Bisects</h2>') < first.indexOf('<h2>Jobs'), 'bisects before the jobs');
    assert.match(first, /<option value="not_success"[^>]*>all non-success<\/option>/);
    assert.match(first, /href="\/\?health=not_success">failed</);
    assert.equal((await a.inject({ url: '/?health=bogus' })).statusCode, 400);
  });

  test('the build page: inputs, the waiting job, the JSON link; unknown keys 404, bad ones 400', async () => {
    const job = body<Job>(await a.inject({ url: `/api/jobs/${v1}` }), 200);
    const key = job.deps[0]!.build_key;
    const r = await a.inject({ url: `/ui/builds/${key}` });
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /text\/html/);
    assert.match(r.body, new RegExp(`<code>${a.ss.hello.shas[0]}</code> <span class="muted">\\(v1\\)</span>`));
    assert.match(r.body, /\(1 waiting\)/);
    assert.match(r.body, new RegExp(`<a href="/ui/jobs/${v1}">${v1}</a></td><td><span class="waiting">waiting`));
    assert.match(r.body, new RegExp(`href="/api/builds/${key}"`));
    const jobPage = await a.inject({ url: `/ui/jobs/${v1}` });
    assert.match(jobPage.body, new RegExp(`href="/ui/builds/${key}"`), "the job's page links the build page");
    assert.match(jobPage.body, /href="\/ui\/compare\?group_by=ss\.hello\.commit&#38;suite=use-hello&#38;pkg=hello"/);
    assert.equal((await a.inject({ url: '/ui/builds/abcdef012345' })).statusCode, 404);
    assert.equal((await a.inject({ url: '/ui/builds/not-hex' })).statusCode, 400);
  });

  test('GET /api/compare answers its schema with no finished job, and refuses bad queries', async () => {
    const c = body<Comparison>(await a.inject({ url: '/api/compare?group_by=ss.hello.commit' }), 200, Comparison);
    assert.deepEqual([c.jobs, c.groups.length, c.stats.length], [0, 0, 0]);
    refusal(await a.inject({ url: '/api/compare' }), 400, 'invalid_request');
    refusal(await a.inject({ url: '/api/compare?group_by=a%20b' }), 400, 'invalid_request');
    refusal(await a.inject({ url: '/api/compare?group_by=testbox&ids=1,x' }), 400, 'invalid_request');
    refusal(await a.inject({ url: '/api/compare?group_by=testbox&base=nosuch' }), 400, 'invalid_request');
    const bisectPage = await a.inject({ url: `/ui/bisects/${bisectId}` });
    assert.match(bisectPage.body, new RegExp(`href="/ui/compare\\?group_by=ss\\.hello\\.commit&#38;bisect=${bisectId}"`), "the bisect page links its probes' comparison");
    const ui = await a.inject({ url: '/ui/compare?group_by=testbox&alpha=3' });
    assert.equal(ui.statusCode, 200, 'the page ignores what its form does not have');
    assert.equal((await a.inject({ url: '/ui/compare?group_by=testbox&bisect=x' })).statusCode, 400);
    const where = await a.inject({ url: '/ui/compare?group_by=testbox&where=novalue' });
    assert.equal(where.statusCode, 400);
    assert.match(where.body, /<p class="failed">where: /, 'the page says which field is wrong');
    assert.match(where.body, /<input name="where" value="novalue"/, 'and keeps what was typed');
  });
});
