// The web dashboard's pages (rendering in ../dashboard.ts): `/` and one page
// per job and per bisect. Read-only, from the same scheduler calls as the
// API; hidden from the OpenAPI document, which describes the JSON API.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Scheduler } from '../../scheduler/scheduler.ts';
import { bisectPage, jobPage, overviewPage } from '../dashboard.ts';
import { IdParams } from '../schemas.ts';
import { HealthSchema, StageSchema } from '../../api/contract.ts';

export const dashboardRoutes: FastifyPluginAsync<{ scheduler: Scheduler }> = async (fastify, { scheduler }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/',
    {
      config: { access: 'public' },
      schema: {
        hide: true,
        querystring: Type.Object({
          stage: Type.Optional(StageSchema),
          health: Type.Optional(HealthSchema),
          suite: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' })),
        }),
      },
    },
    async (request, reply) => {
      // Only the filters the page declares reach the store (a query may carry anything else).
      const { stage, health, suite } = request.query;
      const filter = { stage, health, suite };
      const [testboxes, jobs, builds, bisects] = await Promise.all([
        scheduler.testboxes(),
        scheduler.jobs({ ...filter, limit: 50 }),
        scheduler.builds({ limit: 20 }),
        scheduler.bisects.list(10),
      ]);
      return reply.type('text/html; charset=utf-8').send(overviewPage({ testboxes, jobs, builds, bisects, filter }));
    },
  );

  app.get('/ui/jobs/:id', { config: { access: 'public' }, schema: { hide: true, params: IdParams } }, async (request, reply) => {
    return reply.type('text/html; charset=utf-8').send(jobPage(await scheduler.job(request.params.id)));
  });

  app.get('/ui/bisects/:id', { config: { access: 'public' }, schema: { hide: true, params: IdParams } }, async (request, reply) => {
    return reply.type('text/html; charset=utf-8').send(bisectPage(await scheduler.bisects.view(request.params.id)));
  });
};
