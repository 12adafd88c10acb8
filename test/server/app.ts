// The fastify app of a server, driven in-process with app.inject(): the
// routes' behaviour (schemas, status codes, error bodies) without sockets.
// Each response is checked against the contract schema its route declares.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Value } from 'typebox/value';
import type { TSchema } from 'typebox';
import type { LightMyRequestResponse } from 'fastify';
import { buildConfig, hostArch } from '../../src/config.ts';
import { buildServer, type ServerHandle } from '../../src/server/app.ts';
import { makeSsLab, type SsLab } from '../support/ss-lab.ts';
import { tempDir } from '../support/tmp.ts';

export interface TestApp {
  server: ServerHandle;
  ss: SsLab;
  dir: string;
  inject: ServerHandle['app']['inject'];
  close(): Promise<void>;
}

/** A server over a fresh SQLite file and a lab with real ss packages (hello, linux) and suites. */
export async function testApp(policy: Record<string, unknown> | ((dir: string) => Record<string, unknown>) = {}, opts: { trustProxy?: boolean } = {}): Promise<TestApp> {
  const t = tempDir();
  const ss = makeSsLab(t.dir, typeof policy === 'function' ? policy(t.dir) : policy);
  const server = await buildServer(buildConfig({ data: join(t.dir, 'data'), lab: ss.lab, port: 0, trustProxy: opts.trustProxy }), { logLevel: process.env.STACKLAB_TEST_LOG ?? false });
  await server.app.ready();
  return {
    server,
    ss,
    dir: t.dir,
    inject: server.app.inject.bind(server.app),
    async close() {
      await server.stop();
      t.cleanup();
    },
  };
}

/** The body as JSON, after asserting the status and that it matches the schema. */
export function body<T>(res: LightMyRequestResponse, status: number, schema?: TSchema): T {
  assert.equal(res.statusCode, status, `expected ${status}, got ${res.statusCode}: ${res.body}`);
  const value = res.json() as T;
  if (schema) {
    const errors = [...Value.Errors(schema, value)].slice(0, 3);
    assert.deepEqual(errors, [], `the answer does not match its contract schema: ${JSON.stringify(errors)}`);
  }
  return value;
}

/** A 4xx answer: the {error, message, details} body with the expected code. */
export function refusal(res: LightMyRequestResponse, status: number, code: string): { error: string; message: string; details: unknown } {
  const b = body<{ error: string; message: string; details: unknown }>(res, status);
  assert.deepEqual(Object.keys(b).sort(), ['details', 'error', 'message']);
  assert.equal(b.error, code, b.message);
  assert.ok(b.message.length > 0);
  return b;
}

export const BOX = { hostname: 'box-1', type: 'dc', arch: hostArch(), max_memory: 8, cpus: 2 };
export const BUILD_BOX = { ...BOX, hostname: 'build-1' };
