// Routes of src/server/routes/files.ts: a job's job.cgz, build artifacts and
// result files; paths that leave their root are refused.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { list } from '../../src/artifacts/cgz.ts';
import { body, refusal, testApp, type TestApp } from './app.ts';

describe('routes: files', () => {
  let a: TestApp;
  before(async () => (a = await testApp()));
  after(() => a.close());

  test("a job's job.cgz holds its job.yaml and its suite", async () => {
    const [r] = body<{ job_id: number }[]>(await a.inject({ method: 'POST', url: '/api/jobs', payload: { suite: 'boot-test' } }), 200);
    const res = await a.inject({ url: `/job_initrd_tmpfs/${r!.job_id}/job.cgz` });
    assert.equal(res.statusCode, 200);
    const file = join(a.dir, 'job.cgz');
    writeFileSync(file, res.rawPayload);
    const names = (await list(file)).filter((e) => e.type !== 'dir').map((e) => e.name).sort();
    assert.deepEqual(names, ['job.yaml', 'suite/run']);
    refusal(await a.inject({ url: '/job_initrd_tmpfs/999999/job.cgz' }), 404, 'not_found');
  });

  test('result files are served, directories listed, and paths that leave the root refused', async () => {
    const dir = join(a.server.scheduler.ctx.config.srvDir, 'result', 'demo', 'x');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'output'), 'hi\n');
    const file = await a.inject({ url: '/result/demo/x/output' });
    assert.equal(file.statusCode, 200);
    assert.equal(file.body, 'hi\n');
    assert.deepEqual(body(await a.inject({ url: '/result/demo/x' }), 200), ['output']);
    // Dot segments are resolved before routing (to a path nothing serves); encoded ones reach the route and are refused there.
    assert.equal((await a.inject({ url: '/result/demo/../../stacklab.db' })).statusCode, 404);
    refusal(await a.inject({ url: '/result/demo%2F..%2F..%2Fstacklab.db' }), 400, 'bad_path');
    refusal(await a.inject({ url: '/result/demo/none' }), 404, 'not_found');
    refusal(await a.inject({ url: '/initrd/x%2F..%2F..%2Fstacklab.db' }), 400, 'bad_path');
  });
});
