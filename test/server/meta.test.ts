// Routes of src/server/routes/meta.ts, and the OpenAPI document the routes
// make: every JSON route declares its answer, routes are grouped by tag, and
// the testbox protocol stands apart from the user routes.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { JobFileSchema } from '../../src/jobfile/index.ts';
import { Health } from '../../src/api/contract.ts';
import { body, testApp, type TestApp } from './app.ts';

interface Operation {
  tags?: string[];
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

describe('routes: meta and the OpenAPI document', () => {
  let a: TestApp;
  before(async () => (a = await testApp()));
  after(() => a.close());

  test('health names the database engine; the job schema is the one `stacklab schema job` prints', async () => {
    assert.deepEqual(body(await a.inject({ url: '/api/health' }), 200, Health), { ok: true, db: 'sqlite' });
    assert.deepEqual(body(await a.inject({ url: '/api/schema/job' }), 200), JSON.parse(JSON.stringify(JobFileSchema)));
  });

  test('metrics are Prometheus text', async () => {
    const r = await a.inject({ url: '/metrics' });
    assert.equal(r.statusCode, 200);
    assert.match(r.headers['content-type'] as string, /text\/plain/);
    assert.match(r.body, /^# HELP stacklab_/m);
  });

  test('every route is tagged, every JSON answer has a schema, and the testbox protocol is apart from the user routes', async () => {
    const doc = body<{ tags: { name: string }[]; paths: Record<string, Record<string, Operation>> }>(await a.inject({ url: '/docs/json' }), 200);
    assert.deepEqual(doc.tags.map((t) => t.name), ['jobs', 'builds', 'testboxes', 'bisects', 'boot', 'testbox protocol', 'meta']);
    const byTag = new Map<string, string[]>();
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const route = `${method.toUpperCase()} ${path}`;
        assert.equal(op.tags?.length, 1, `${route} has one tag`);
        byTag.set(op.tags![0]!, [...(byTag.get(op.tags![0]!) ?? []), route]);
        const ok = op.responses?.['200'];
        const json = ok?.content?.['application/json'];
        // Routes that answer JSON declare what; file and script routes answer other types.
        if (!path.startsWith('/result') && !path.startsWith('/initrd') && !path.startsWith('/kernel') && !path.startsWith('/job_initrd_tmpfs')) {
          assert.ok(ok, `${route} declares its 200 answer`);
          if (path.startsWith('/api/')) assert.ok(json?.schema, `${route} declares the schema of its JSON answer`);
        }
      }
    }
    assert.deepEqual(byTag.get('testbox protocol')!.sort(), [
      'GET /api/testboxes/{host}/next',
      'POST /api/jobs/{id}/close',
      'POST /api/jobs/{id}/result/{*}',
      'POST /api/jobs/{id}/stage',
      'POST /api/testboxes/register',
      'POST /api/testboxes/{host}/heartbeat',
      'PUT /api/jobs/{id}/artifact/{name}',
      'PUT /api/jobs/{id}/result/{*}',
    ]);
    assert.deepEqual(byTag.get('testboxes'), ['GET /api/testboxes', 'POST /api/testboxes/{host}/enable', 'POST /api/testboxes/{host}/health-check']);
    assert.ok(byTag.get('jobs')!.includes('POST /api/jobs'));
  });
});
