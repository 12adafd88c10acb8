// /api/testboxes: registration, heartbeats, the long-poll for work, and the
// testbox reports on a job it holds (stage, result files, close).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Readable } from 'node:stream';
import type { Scheduler } from '../../scheduler/scheduler.ts';
import { TESTBOX_HEALTHS } from '../../model/lifecycle.ts';
import { errorResponses, Holder, HostParams, IdParams, TestboxRegistration } from '../schemas.ts';
import { clientGone } from '../errors.ts';

export const testboxRoutes: FastifyPluginAsync<{ scheduler: Scheduler }> = async (fastify, { scheduler }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/api/testboxes/register',
    { schema: { summary: 'Register (or re-register) a testbox', body: TestboxRegistration, response: { 200: Type.Object({ heartbeat_interval: Type.Integer() }), ...errorResponses } } },
    async (request) => scheduler.registerTestbox(request.body),
  );

  app.post(
    '/api/testboxes/:host/heartbeat',
    {
      schema: {
        summary: 'Heartbeat; answers the ids of the jobs the scheduler believes the box holds',
        params: HostParams,
        response: { 200: Type.Object({ jobs: Type.Array(Type.Integer()) }), ...errorResponses },
      },
    },
    async (request) => scheduler.heartbeat(request.params.host),
  );

  app.get(
    '/api/testboxes/:host/next',
    {
      schema: {
        summary: 'Long-poll for a job: 200 with the assignment, 204 when none came within `wait` seconds',
        params: HostParams,
        querystring: Type.Object({ wait: Type.Number({ minimum: 0, maximum: 60, default: 30 }) }),
      },
    },
    async (request, reply) => {
      const assignment = await scheduler.next(request.params.host, request.query.wait * 1000, clientGone(reply));
      if (!assignment) return reply.status(204).send();
      return assignment;
    },
  );

  app.get('/api/testboxes', { schema: { summary: 'Testboxes with their state and the jobs they hold' } }, async () => scheduler.testboxes());

  app.post(
    '/api/jobs/:id/stage',
    {
      schema: {
        summary: 'A testbox reports that a job it holds moved on (running, post_run)',
        params: IdParams,
        body: Type.Intersect([Holder, Type.Object({ stage: Type.Union([Type.Literal('running'), Type.Literal('post_run')]) })]),
        response: { 200: Type.Object({ ok: Type.Boolean() }), ...errorResponses },
      },
    },
    async (request) => {
      await scheduler.reportStage(request.params.id, request.body.testbox, request.body.stage);
      return { ok: true };
    },
  );

  // Result files arrive as raw bodies, streamed to disk without buffering.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  app.put(
    '/api/jobs/:id/result/*',
    {
      bodyLimit: Number.MAX_SAFE_INTEGER,
      schema: {
        summary: "Upload a file into the job's result root (only there)",
        params: Type.Object({ id: Type.Integer({ minimum: 1 }), '*': Type.String() }),
        querystring: Holder,
        response: { 200: Type.Object({ path: Type.String(), bytes: Type.Integer() }), ...errorResponses },
      },
    },
    async (request) => scheduler.saveResult(request.params.id, request.query.testbox, request.params['*'], request.body as Readable),
  );

  app.put(
    '/api/jobs/:id/artifact/:name',
    {
      bodyLimit: Number.MAX_SAFE_INTEGER,
      schema: {
        summary: 'A pkgbuild job uploads an artifact of its build (pkg.cgz; for linux also vmlinuz and modules.cgz); the server records its sha256',
        params: Type.Object({ id: Type.Integer({ minimum: 1 }), name: Type.String() }),
        querystring: Holder,
        response: { 200: Type.Object({ name: Type.String(), path: Type.String(), size: Type.Integer(), sha256: Type.String() }), ...errorResponses },
      },
    },
    async (request) => scheduler.saveArtifact(request.params.id, request.query.testbox, request.params.name, request.body as Readable),
  );

  app.post(
    '/api/jobs/:id/close',
    {
      schema: {
        summary: 'A testbox closes a job it holds with its health',
        params: IdParams,
        body: Type.Intersect([Holder, Type.Object({ health: Type.Union(TESTBOX_HEALTHS.map((h) => Type.Literal(h))) })]),
        response: { 200: Type.Object({ ok: Type.Boolean() }), ...errorResponses },
      },
    },
    async (request) => {
      await scheduler.close(request.params.id, request.body.testbox, request.body.health);
      return { ok: true };
    },
  );

};
