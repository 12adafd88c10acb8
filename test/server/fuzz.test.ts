// Thousands of generated requests (fast-check) against a real server on
// SQLite and on PostgreSQL: malformed ids and filters, numbers beyond what
// the store holds, NUL bytes, deep nesting, YAML aliases, extra properties,
// wrong content types, long file names. None may get a 5xx, and afterwards
// the server still answers: no request poisons a row every later read
// throws on, or stalls the event loop for long.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import { buildConfig } from '../../src/config.ts';
import { buildServer, type ServerHandle } from '../../src/server/app.ts';
import { dialects, freshDb, type TestDb } from '../support/db.ts';
import { makeSsLab } from '../support/ss-lab.ts';
import { tempDir } from '../support/tmp.ts';

const RUNS = Number(process.env.STACKLAB_FUZZ_RUNS ?? 2500);
const SEED = Number(process.env.STACKLAB_FUZZ_SEED ?? 20261201);

/** Values that have broken servers: huge and odd numbers, NUL, long and odd strings, prototype names. */
const nasty = fc.oneof(
  fc.constantFrom(2 ** 31, 2 ** 53, 2 ** 63, 2 ** 64, -1, 0, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2),
  fc.constantFrom('', '\0', 'a\0b', 'x'.repeat(5000), '../../etc/passwd', '%2e%2e', 'constructor', '__proto__', 'valueOf', 'toString', '-rf', '$(id)', '💥', '\n'),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);

const field = fc.constantFrom('suite', 'testbox', 'os', 'os_version', 'os_arch', 'runtime', 'memory_minimum', 'need_memory', 'priority', 'my_account', 'labels', 'ss', 'constructor', '__proto__', 'valueOf', 'boot-test', 'upload_fields', 'PATH', 'LD_PRELOAD', 'id', 'job_stage');

/** A job-ish object: sometimes valid, mostly not. */
const jobish = fc.dictionary(field, fc.oneof(nasty, fc.dictionary(fc.string({ maxLength: 8 }), nasty, { maxKeys: 4 }), fc.array(nasty, { maxLength: 4 })), { maxKeys: 8 }).map((j) => ({ suite: 'boot-test', ...j }));

const deep = (n: number, leaf: unknown): unknown => (n === 0 ? leaf : { a: deep(n - 1, leaf) });

const body = fc.oneof(
  jobish,
  fc.array(jobish, { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 4 }),
  fc.integer({ min: 70, max: 3000 }).map((n) => deep(n, 1)),
  fc.constant(Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, i]))),
);

const yamlBody = fc.oneof(
  fc.constantFrom(
    'suite: boot-test\na: &a [*a]\n',
    'a: &a\n  b: *a\nsuite: boot-test\n',
    'suite: boot-test\n<<: {file: /etc/passwd}\n',
    'suite: boot-test\nruntime: 99999999999999999999\n',
    'suite: {{ system("id") }}\n',
    '---\n---\n---\n',
    'suite: boot-test\n' + Array.from({ length: 20000 }, (_, i) => `k${i}: 1`).join('\n'),
    '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
  ),
  fc.string({ maxLength: 200 }),
);

const id = fc.oneof(fc.constantFrom('0', '-1', '1', '2', 'abc', '1e3', '9007199254740993', '99999999999999999999', '%00', '1.5'), fc.nat().map(String));
const host = fc.oneof(fc.constantFrom('box-1', 'nobody', '..', '%00', 'a'.repeat(300), '-x'), fc.string({ maxLength: 12 }).map(encodeURIComponent));
const q = fc.dictionary(fc.constantFrom('stage', 'health', 'suite', 'account', 'before', 'limit', 'wait', 'after', 'seen', 'dry_run', 'state', 'pkg', 'mac', 'token'), nasty.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))), { maxKeys: 4 });
const qs = (o: Record<string, string>) => new URLSearchParams(o).toString();

interface Req {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  payload?: string | object;
  headers?: Record<string, string>;
}

const request: fc.Arbitrary<Req> = fc.oneof(
  fc.record({ b: body, q }).map(({ b, q }) => ({ method: 'POST' as const, url: `/api/jobs?${qs(q)}`, payload: b as object })),
  yamlBody.map((b) => ({ method: 'POST' as const, url: '/api/jobs', payload: b, headers: { 'content-type': 'application/yaml' } })),
  fc.record({ b: fc.string({ maxLength: 100 }), ct: fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', 'multipart/form-data') }).map(({ b, ct }) => ({ method: 'POST' as const, url: '/api/jobs', payload: b, headers: { 'content-type': ct } })),
  q.map((q) => ({ method: 'GET' as const, url: `/api/jobs?${qs(q)}` })),
  fc.record({ id, q }).map(({ id, q }) => ({ method: 'GET' as const, url: `/api/jobs/${id}?${qs(q)}` })),
  fc.record({ id, q }).map(({ id, q }) => ({ method: 'GET' as const, url: `/api/jobs/${id}/events?${qs(q)}` })),
  id.map((id) => ({ method: 'POST' as const, url: `/api/jobs/${id}/cancel` })),
  q.map((q) => ({ method: 'GET' as const, url: `/api/builds?${qs(q)}` })),
  fc.string({ maxLength: 70 }).map((k) => ({ method: 'GET' as const, url: `/api/builds/${encodeURIComponent(k)}` })),
  fc.record({ b: fc.oneof(body, fc.record({ hostname: host, type: fc.constantFrom('dc', 'vm', 'hw', 'x'), arch: nasty, max_memory: nasty, cpus: nasty, extra: nasty })) }).map(({ b }) => ({ method: 'POST' as const, url: '/api/testboxes/register', payload: b as object })),
  fc.record({ h: host, b: body }).map(({ h, b }) => ({ method: 'POST' as const, url: `/api/testboxes/${h}/heartbeat`, payload: b as object })),
  fc.record({ h: host, q }).map(({ h, q }) => ({ method: 'GET' as const, url: `/api/testboxes/${h}/next?${qs({ ...q, wait: '0' })}` })),
  fc.record({ id, b: body }).map(({ id, b }) => ({ method: 'POST' as const, url: `/api/jobs/${id}/stage`, payload: b as object })),
  fc.record({ id, b: body }).map(({ id, b }) => ({ method: 'POST' as const, url: `/api/jobs/${id}/close`, payload: b as object })),
  fc.record({ id, p: fc.oneof(fc.string({ maxLength: 300 }), fc.constant('a/'.repeat(600))), h: host }).map(({ id, p, h }) => ({ method: 'PUT' as const, url: `/api/jobs/${id}/result/${encodeURIComponent(p)}?testbox=${h}`, payload: 'x', headers: { 'content-type': 'application/octet-stream' } })),
  fc.record({ id, h: host }).map(({ id, h }) => ({ method: 'PUT' as const, url: `/api/jobs/${id}/result/stats.json?testbox=${h}`, payload: '{"a":1}', headers: { 'content-type': 'application/json' } })),
  fc.record({ b: fc.oneof(body, fc.record({ job: fc.oneof(jobish, yamlBody), pkg: nasty, good: fc.oneof(nasty, fc.array(nasty)), bad: nasty, criterion: nasty, repeat: nasty, slots: nasty })) }).map(({ b }) => ({ method: 'POST' as const, url: '/api/bisects', payload: b as object })),
  fc.record({ id, q }).map(({ id, q }) => ({ method: 'GET' as const, url: `/api/bisects/${id}?${qs({ ...q, wait: '0' })}` })),
  q.map((q) => ({ method: 'GET' as const, url: `/boot.ipxe?${qs({ ...q, wait: '0' })}` })),
  fc.string({ maxLength: 100 }).map((p) => ({ method: 'GET' as const, url: `/result/${p}` })),
  id.map((id) => ({ method: 'GET' as const, url: `/job_initrd_tmpfs/${id}/job.cgz` })),
  q.map((q) => ({ method: 'GET' as const, url: `/?${qs(q)}` })),
);

for (const dialect of await dialects()) {
  describe(`fuzzed requests (${dialect})`, () => {
    const t = tempDir();
    let db: TestDb;
    let server: ServerHandle;
    before(async () => {
      const ss = makeSsLab(t.dir);
      db = await freshDb(dialect);
      server = await buildServer(buildConfig({ data: join(t.dir, 'data'), lab: ss.lab, db: db.url, port: 0 }), { logLevel: process.env.STACKLAB_TEST_LOG ?? false });
      await server.app.ready();
      await server.app.inject({ method: 'POST', url: '/api/testboxes/register', payload: { hostname: 'box-1', type: 'dc', arch: server.scheduler.ctx.config.defaults.os_arch, max_memory: 8, cpus: 2 } });
    });
    after(async () => {
      await server.stop();
      await db.cleanup();
      t.cleanup();
    });

    test(`${RUNS} generated requests: no 5xx, no long stall, and the server still answers`, async () => {
      let slowest = 0;
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const started = performance.now();
          const res = await server.app.inject({ method: r.method, url: r.url, payload: r.payload as string, headers: r.headers });
          slowest = Math.max(slowest, performance.now() - started);
          if (res.statusCode >= 500) throw new Error(`${r.method} ${r.url.slice(0, 200)} ${JSON.stringify(r.payload ?? null).slice(0, 300)} → ${res.statusCode} ${res.body.slice(0, 300)}`);
        }),
        { numRuns: RUNS, seed: SEED, endOnFailure: true },
      );
      // Nothing written by the fuzz poisons what every user and testbox reads next.
      for (const url of ['/api/jobs?limit=1000', '/api/builds?limit=1000', '/api/testboxes', '/api/bisects', '/']) {
        const res = await server.app.inject({ url });
        assert.equal(res.statusCode, 200, `${url}: ${res.body.slice(0, 300)}`);
      }
      assert.ok([200, 204].includes((await server.app.inject({ url: '/api/testboxes/box-1/next?wait=0' })).statusCode));
      await server.scheduler.sweep();
      assert.ok(slowest < 5000, `the slowest request took ${Math.round(slowest)} ms`);
    });
  });
}
