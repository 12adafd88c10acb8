// /api/builds: the build cache.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Scheduler } from '../../scheduler/scheduler.ts';
import { Build, BUILD_STATES } from '../../api/contract.ts';
import { errorResponses } from '../schemas.ts';

export const buildRoutes: FastifyPluginAsync<{ scheduler: Scheduler }> = async (fastify, { scheduler }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/api/builds',
    {
      schema: {
        tags: ['builds'],
        summary: 'Builds in the cache, newest first',
        querystring: Type.Object({
          state: Type.Optional(Type.Enum(BUILD_STATES)),
          pkg: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9._+-]{0,63}$' })),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        }),
        response: { 200: Type.Array(Build), ...errorResponses },
      },
    },
    async (request) => scheduler.builds({ state: request.query.state, pkg: request.query.pkg, limit: request.query.limit }),
  );

  app.get(
    '/api/builds/:key',
    {
      schema: {
        tags: ['builds'],
        summary: 'One build (by key or a unique key prefix): inputs, state, files with sha256, its pkgbuild jobs and the jobs depending on it',
        params: Type.Object({ key: Type.String({ pattern: '^[0-9a-f]{6,64}$' }) }),
        response: { 200: Build, ...errorResponses },
      },
    },
    async (request) => scheduler.build(request.params.key),
  );
};
