// /api/testboxes and the testbox protocol: registration, heartbeats, the
// long-poll for work, and what a testbox reports about a job it holds
// (stage, result files, artifacts, the close).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Readable } from 'node:stream';
import type { Scheduler } from '../../scheduler/scheduler.ts';
import { ArtifactStored, Assignment, CloseReport, HeartbeatBody, HeartbeatReply, Holder, Ok, Registered, ResultStored, StageReport, SubmitResult, Testbox, TestboxRegistration } from '../../api/contract.ts';
import { errorResponses, HostParams, IdParams } from '../schemas.ts';
import { clientGone } from '../errors.ts';

const PROTOCOL = ['testbox protocol'];

export const testboxRoutes: FastifyPluginAsync<{ scheduler: Scheduler }> = async (fastify, { scheduler }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/testboxes',
    { schema: { tags: ['testboxes'], summary: 'Testboxes with their state and the jobs they hold', response: { 200: Type.Array(Testbox) } } },
    async () => scheduler.testboxes(),
  );

  app.post(
    '/api/testboxes/:host/enable',
    {
      schema: {
        tags: ['testboxes'],
        summary: 'Bring a testbox taken out of dispatch (too many infrastructure failures in a row) back; with accounts on, an admin only',
        params: HostParams,
        response: { 200: Testbox, ...errorResponses },
      },
    },
    async (request) => scheduler.enableTestbox(request.params.host, request.caller),
  );

  app.post(
    '/api/testboxes/:host/health-check',
    {
      schema: {
        tags: ['testboxes'],
        summary: 'Submit a health-check job for one testbox: pinned to it, the one job it takes while out of dispatch; when it passes, the box is back in. With accounts on, an admin only',
        description: 'Body: one job object, as for POST /api/jobs. Its testbox group and os_arch default to the box\'s and must match it.',
        params: HostParams,
        body: Type.Object({}, { additionalProperties: true }),
        response: { 200: SubmitResult, ...errorResponses },
      },
      bodyLimit: 64 * 1024 * 1024,
    },
    async (request) => scheduler.healthCheck(request.params.host, request.body, request.caller),
  );

  app.post(
    '/api/testboxes/register',
    {
      // Public: with accounts on, the lab-issued secret in the body is the credential.
      config: { access: 'public' },
      schema: { tags: PROTOCOL, summary: 'Register (or re-register) a testbox; with accounts on, with a lab-issued secret, and the answer holds its token', body: TestboxRegistration, response: { 200: Registered, ...errorResponses } },
    },
    async (request) => {
      const { secret, token, ...info } = request.body;
      return scheduler.registerTestbox(info, { secret, token });
    },
  );

  app.post(
    '/api/testboxes/:host/heartbeat',
    {
      schema: {
        tags: PROTOCOL,
        summary: 'Heartbeat with the jobs the box runs; answers the ids of the jobs the scheduler believes the box holds',
        params: HostParams,
        body: Type.Optional(HeartbeatBody),
        response: { 200: HeartbeatReply, ...errorResponses },
      },
      config: { access: 'testbox' },
    },
    async (request) => scheduler.heartbeat(request.params.host, request.caller, request.body?.running),
  );

  app.get(
    '/api/testboxes/:host/next',
    {
      schema: {
        tags: PROTOCOL,
        summary: 'Long-poll for a job: 200 with the assignment, 204 when none came within `wait` seconds',
        params: HostParams,
        querystring: Type.Object({ wait: Type.Number({ minimum: 0, maximum: 60, default: 30 }) }),
        response: { 200: Assignment, 204: Type.Null({ description: 'No job within the wait' }), ...errorResponses },
      },
      config: { access: 'testbox' },
    },
    async (request, reply) => {
      const assignment = await scheduler.next(request.params.host, request.query.wait * 1000, clientGone(reply), request.caller);
      if (!assignment) return reply.status(204).send(null);
      return assignment;
    },
  );

  app.post(
    '/api/jobs/:id/stage',
    {
      schema: {
        tags: PROTOCOL,
        summary: 'A testbox reports that a job it holds moved on (running, post_run)',
        params: IdParams,
        body: StageReport,
        response: { 200: Ok, ...errorResponses },
      },
      config: { access: 'testbox' },
    },
    async (request) => {
      await scheduler.reportStage(request.params.id, request.body.testbox, request.body.stage, request.caller);
      return { ok: true };
    },
  );

  // Result files arrive as raw bodies, streamed to disk without buffering.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  // PUT, and POST for what runs inside a vm guest (busybox wget posts but cannot put).
  for (const method of ['put', 'post'] as const) {
    app[method](
      '/api/jobs/:id/result/*',
      {
        bodyLimit: Number.MAX_SAFE_INTEGER,
        schema: {
          tags: PROTOCOL,
          summary: `Upload a file into the job's result root (only there)${method === 'post' ? ': the same as PUT, for clients that can only POST' : ''}`,
          params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), '*': Type.String({ maxLength: 1024 }) }),
          querystring: Holder,
          response: { 200: ResultStored, ...errorResponses },
        },
        config: { access: 'testbox' },
      },
      async (request) => scheduler.saveResult(request.params.id, request.query.testbox, request.params['*'], request.body as Readable, request.caller),
    );
  }

  app.put(
    '/api/jobs/:id/artifact/:name',
    {
      bodyLimit: Number.MAX_SAFE_INTEGER,
      schema: {
        tags: PROTOCOL,
        summary: 'A pkgbuild job uploads an artifact of its build (pkg.cgz; for linux also vmlinuz and modules.cgz); the server records its sha256',
        params: Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), name: Type.String({ maxLength: 64 }) }),
        querystring: Holder,
        response: { 200: ArtifactStored, ...errorResponses },
      },
      config: { access: 'testbox' },
    },
    async (request) => scheduler.saveArtifact(request.params.id, request.query.testbox, request.params.name, request.body as Readable, request.caller),
  );

  app.post(
    '/api/jobs/:id/close',
    {
      schema: {
        tags: PROTOCOL,
        summary: 'A testbox closes a job it holds with its health',
        params: IdParams,
        body: CloseReport,
        response: { 200: Ok, ...errorResponses },
      },
      config: { access: 'testbox' },
    },
    async (request) => {
      await scheduler.close(request.params.id, request.body.testbox, request.body.health, request.caller);
      return { ok: true };
    },
  );
};
