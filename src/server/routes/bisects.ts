// /api/bisects: bisections in the lab (SPEC §7).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Scheduler } from '../../scheduler/scheduler.ts';
import { Bisect, BisectRequest } from '../../api/contract.ts';
import { clientGone } from '../errors.ts';
import { errorResponses, IdParams } from '../schemas.ts';

export const bisectRoutes: FastifyPluginAsync<{ scheduler: Scheduler }> = async (fastify, { scheduler }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.post(
    '/api/bisects',
    {
      schema: {
        tags: ['bisects'],
        summary: 'Start a bisect in the lab: the job is submitted with ss.<pkg>.commit set to the commits probed',
        body: BisectRequest,
        response: { 200: Bisect, ...errorResponses },
      },
    },
    async (request) => scheduler.bisects.start(request.body, request.caller),
  );

  app.get(
    '/api/bisects',
    {
      schema: {
        tags: ['bisects'],
        summary: 'Bisects, newest first',
        querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
        response: { 200: Type.Array(Bisect), ...errorResponses },
      },
    },
    async (request) => scheduler.bisects.list(request.query.limit),
  );

  app.get(
    '/api/bisects/:id',
    {
      schema: {
        tags: ['bisects'],
        summary: 'A bisect: progress, probe jobs, and the result with its evidence. With wait, answers once more than `seen` log entries exist or the bisect ended',
        params: IdParams,
        querystring: Type.Object({ wait: Type.Number({ minimum: 0, maximum: 60, default: 0 }), seen: Type.Integer({ minimum: -1, maximum: Number.MAX_SAFE_INTEGER, default: -1 }) }),
        response: { 200: Bisect, ...errorResponses },
      },
    },
    async (request, reply) => scheduler.bisects.view(request.params.id, request.query.wait * 1000, request.query.seen, clientGone(reply)),
  );

  app.post(
    '/api/bisects/:id/cancel',
    { schema: { tags: ['bisects'], summary: 'Cancel a running bisect and its probe jobs', params: IdParams, response: { 200: Bisect, ...errorResponses } } },
    async (request) => scheduler.bisects.cancel(request.params.id, request.caller),
  );
};
