// /api/bisects: bisections in the lab (SPEC §7).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Scheduler } from '../../scheduler/scheduler.ts';
import type { BisectRequest } from '../../scheduler/bisect/driver.ts';
import { clientGone } from '../errors.ts';
import { errorResponses, IdParams } from '../schemas.ts';

const Ref = Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\s-][^\\s]*$' });

const BisectBody = Type.Object({
  job: Type.Union([Type.Object({}, { additionalProperties: true }), Type.String()], { description: 'The job: one job object, or job-file YAML expanding to one job' }),
  pkg: Type.String({ pattern: '^[a-z0-9][a-z0-9._+-]*$', description: 'The ss package whose commit moves' }),
  good: Type.Union([Ref, Type.Array(Ref, { minItems: 1 })]),
  bad: Ref,
  criterion: Type.Optional(Type.Union([Type.Literal('build'), Type.Literal('function'), Type.Literal('perf')])),
  metric: Type.Optional(Type.String({ description: 'perf: the stat sampled, suite.key' })),
  direction: Type.Optional(Type.Union([Type.Literal('lower'), Type.Literal('higher')], { description: 'perf: which direction is better' })),
  errid: Type.Optional(Type.String({ description: 'function: a stat that marks a commit bad when present and non-zero' })),
  repeat: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
  max_runs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  slots: Type.Optional(Type.Integer({ minimum: 1, maximum: 256, description: 'Probes at once (default: the testboxes that can run the job)' })),
  first_parent: Type.Optional(Type.Boolean()),
});

const BisectBodyOut = Type.Object({ id: Type.Integer(), state: Type.String() }, { additionalProperties: true });

export const bisectRoutes: FastifyPluginAsync<{ scheduler: Scheduler }> = async (fastify, { scheduler }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/api/bisects',
    { schema: { summary: 'Start a bisect in the lab: the job is submitted with ss.<pkg>.commit set to the commits probed', body: BisectBody, response: { 200: BisectBodyOut, ...errorResponses } } },
    async (request) => scheduler.bisects.start(request.body as BisectRequest),
  );

  app.get('/api/bisects', { schema: { summary: 'Bisects, newest first' } }, async () => scheduler.bisects.list());

  app.get(
    '/api/bisects/:id',
    {
      schema: {
        summary: 'A bisect: progress, probe jobs, and the result with its evidence. With wait, answers once more than `seen` log entries exist or the bisect ended',
        params: IdParams,
        querystring: Type.Object({ wait: Type.Number({ minimum: 0, maximum: 60, default: 0 }), seen: Type.Integer({ minimum: -1, default: -1 }) }),
        response: { 200: BisectBodyOut, ...errorResponses },
      },
    },
    async (request, reply) => scheduler.bisects.view(request.params.id, request.query.wait * 1000, request.query.seen, clientGone(reply)),
  );

  app.post(
    '/api/bisects/:id/cancel',
    { schema: { summary: 'Cancel a running bisect and its probe jobs', params: IdParams, response: { 200: BisectBodyOut, ...errorResponses } } },
    async (request) => scheduler.bisects.cancel(request.params.id),
  );
};
