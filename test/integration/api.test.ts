// The surface a user or a script touches first, against `stacklab up` (the
// one-command server + local testboxes) on a lab made here: a YAML job
// posted straight to the API runs to success; every client mistake is a
// 4xx `{error, message, details}` that leaves nothing behind; path tricks
// are refused; /metrics, /docs and the job schema answer; CLI misuse exits 2.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../support/tmp.ts';
import { makeLab } from '../support/lab.ts';
import { firstJson, runCli, startProc, type Proc } from '../support/procs.ts';
import { finished } from '../support/wait.ts';
import { ApiClient } from '../../src/api/client.ts';
import type { Job } from '../../src/api/contract.ts';

interface ErrorBody {
  error: string;
  message: string;
  details: unknown;
}

describe('API and CLI surface, on stacklab up', () => {
  const t = tempDir();
  let up: Proc;
  let url = '';
  let api: ApiClient;
  const cli = (args: string[]) => runCli(args, { STACKLAB_SERVER: url });
  const jobCount = async () => (await api.get<Job[]>('/api/jobs', { limit: 1000 })).length;
  const call = async (method: string, path: string, body?: string, type = 'application/json') => {
    const res = await fetch(url + path, { method, body, headers: body === undefined ? {} : { 'content-type': type } });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) as ErrorBody };
  };
  const assertError = (r: { status: number; json(): ErrorBody }, status: number, code: string) => {
    assert.equal(r.status, status);
    const body = r.json();
    assert.equal(body.error, code, JSON.stringify(body));
    assert.equal(typeof body.message, 'string');
    assert.ok('details' in body);
    return body;
  };

  before(async () => {
    const lab = makeLab(join(t.dir, 'lab'), { suites: { echo: { run: '#!/bin/sh\necho "words: $(echo $text | wc -w)"\n' } } });
    up = startProc(['up', '--data', join(t.dir, 'data'), '--lab', lab, '--port', '0', '--testboxes', '1', '--json']);
    const info = await firstJson<{ url: string; testboxes: string[] }>(up, 'stacklab up');
    url = info.url;
    api = new ApiClient(url);
    assert.equal(info.testboxes.length, 1);
  });

  after(async () => {
    await up.kill();
    t.cleanup();
  });

  test('a YAML job posted to the API runs on the testbox `up` started', async () => {
    const r = await call('POST', '/api/jobs', 'suite: echo\necho:\n  text: one two three\n', 'application/yaml');
    assert.equal(r.status, 200, r.text);
    const { job_id } = (JSON.parse(r.text) as { job_id: number }[])[0]!;
    const j = await finished(api, job_id);
    assert.equal(j.job_health, 'success');
    assert.deepEqual(j.stats, { 'echo.words': 3 });
  });

  test('bad jobs are 400 with the field named, and nothing of the request is submitted', async () => {
    const before = await jobCount();
    // Any other key is an lkp job variable (runtme too: a near miss is only a warning), so a bad value of a field stacklab reads is the bad job here.
    const bad = assertError(await call('POST', '/api/jobs', JSON.stringify([{ suite: 'echo' }, { suite: 'echo', runtime: 'soon' }])), 400, 'invalid_job');
    assert.match(JSON.stringify(bad.details), /runtime/);
    assert.match(bad.message, /job 1 runtime: expected a whole number of seconds ≥ 1, got "soon"/);
    const owned = assertError(await call('POST', '/api/jobs', JSON.stringify({ suite: 'echo', waited: true })), 400, 'invalid_job');
    assert.match(owned.message, /waited: set by the scheduler/);
    const yaml = assertError(await call('POST', '/api/jobs', 'suite: echo\nruntime: [1,\n', 'application/yaml'), 400, 'invalid_job_file');
    assert.match(yaml.message, /^request body:3:1: /, 'a YAML error has its line and column');
    // The scheduler's own objections (a suite the lab lacks) point at the YAML body's lines too.
    // Document 0 is a job of its own (lkp's rule), so it names a suite too.
    const suite = assertError(await call('POST', '/api/jobs', 'suite: echo\nruntime: 5\n---\nsuite: nope\n', 'application/yaml'), 400, 'invalid_job_file');
    assert.match(suite.message, /request body:4:8 suite: no suite nope/);
    assertError(await call('POST', '/api/jobs', JSON.stringify({ suite: 'no-such-suite' })), 400, 'invalid_job');
    assertError(await call('POST', '/api/jobs', '{not json'), 400, 'invalid_request');
    assert.equal(await jobCount(), before);
  });

  test('unknown things are 404, malformed ids 400, all in the one error shape', async () => {
    assertError(await call('GET', '/api/jobs/999999'), 404, 'not_found');
    assertError(await call('POST', '/api/jobs/999999/cancel'), 404, 'not_found');
    assertError(await call('GET', '/api/builds/abcdef'), 404, 'not_found');
    assertError(await call('GET', '/api/bisects/424242'), 404, 'not_found');
    assertError(await call('GET', '/api/nothing-here'), 404, 'not_found');
    assertError(await call('GET', '/api/jobs/abc'), 400, 'invalid_request');
    assertError(await call('GET', '/api/jobs?limit=0'), 400, 'invalid_request');
  });

  test('paths that try to leave the result or artifact trees are refused', async () => {
    for (const p of ['/result/..%2f..%2fstacklab.db', '/result/%2e%2e/%2e%2e/stacklab.db', '/initrd/..%2f..%2fstacklab.db']) {
      const r = await call('GET', p);
      assert.ok(r.status === 400 || r.status === 404, `${p}: ${r.status}`);
      assert.ok(!r.text.includes('SQLite format'), p);
    }
    // A finished job takes no more uploads, and never outside its own root.
    const { job_id } = (await api.post<{ job_id: number }[]>('/api/jobs', { suite: 'echo' }))[0]!;
    const j = await finished(api, job_id);
    const host = j.testbox_host!;
    const put = await fetch(`${url}/api/jobs/${job_id}/result/..%2f..%2f..%2fevil?testbox=${host}`, { method: 'PUT', body: 'x', headers: { 'content-type': 'application/octet-stream' } });
    assert.ok(put.status >= 400 && put.status < 500, String(put.status));
  });

  test('/metrics, /docs and the job schema answer', async () => {
    const metrics = await call('GET', '/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.text, /^stacklab_jobs_submitted_total\{kind="test"\} [1-9]/m);
    assert.match(metrics.text, /^stacklab_jobs_finished_total\{kind="test",health="success"\} [1-9]/m);
    const doc = JSON.parse((await call('GET', '/docs/json')).text) as { openapi: string; paths: Record<string, unknown> };
    assert.match(doc.openapi, /^3\./);
    for (const p of ['/api/jobs', '/api/jobs/{id}', '/api/builds', '/api/bisects', '/api/testboxes/{host}/next']) assert.ok(p in doc.paths, p);
    assert.ok(!('/' in doc.paths), 'the dashboard is not part of the API document');
    const schema = JSON.parse((await call('GET', '/api/schema/job')).text) as { required: string[]; properties: Record<string, unknown> };
    assert.deepEqual(schema.required, ['suite']);
    const printed = await cli(['schema', 'job']);
    assert.equal(printed.code, 0);
    assert.deepEqual(JSON.parse(printed.stdout), schema);
  });

  test('CLI: bad usage and bad input exit 2, a missing job 2 with its message, --json output parses', async () => {
    assert.equal((await cli(['job', 'show', 'abc'])).code, 2);
    assert.equal((await cli(['no-such-command'])).code, 2);
    assert.equal((await cli(['submit'])).code, 2);
    const missing = await cli(['job', 'show', '999999']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /999999/);
    // Malformed numbers and durations are usage errors that name the option, never a stack trace or a wait for ever.
    for (const args of [['server', '--port', 'abc'], ['bisect', 'wait', '1', '--timeout', 'abc'], ['jobs', '--stage', 'bogus'], ['jobs', '--limit', '0'], ['testbox', '--mem', '-1'], ['up', '--testboxes', 'x']]) {
      const r = await cli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`option '${args.find((a) => a.startsWith('--'))}`), args.join(' '));
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${args.join(' ')} printed a stack trace`);
    }
    const boxes = await cli(['testboxes', '--json']);
    assert.equal(boxes.code, 0);
    assert.equal((JSON.parse(boxes.stdout) as { state: string }[]).length, 1);
    const jobs = JSON.parse((await cli(['jobs', '--json'])).stdout) as Job[];
    assert.ok(jobs.length >= 2);
  });
});
