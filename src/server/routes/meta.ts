// /metrics (Prometheus), the job file's JSON Schema, and the server's health.
import type { FastifyPluginAsync } from 'fastify';
import { Type } from 'typebox';
import { JobFileSchema } from '../../jobfile/index.ts';
import { Health } from '../../api/contract.ts';
import type { Scheduler } from '../../scheduler/scheduler.ts';

export const metaRoutes: FastifyPluginAsync<{ scheduler: Scheduler }> = async (app, { scheduler }) => {
  const registry = scheduler.ctx.metrics.registry;

  app.get(
    '/metrics',
    { config: { access: 'public' }, schema: { tags: ['meta'], summary: 'Prometheus metrics (text exposition format)', produces: ['text/plain'], response: { 200: Type.String() } } },
    async (_request, reply) => {
      reply.type(registry.contentType);
      return registry.metrics();
    },
  );

  app.get(
    '/api/schema/job',
    { config: { access: 'public' }, schema: { tags: ['meta'], summary: "The job file's JSON Schema", response: { 200: Type.Object({}, { additionalProperties: true }) } } },
    async () => JobFileSchema,
  );

  app.get(
    '/api/health',
    { config: { access: 'public' }, schema: { tags: ['meta'], summary: 'Liveness: the server answers and its database too', response: { 200: Health } } },
    async () => {
      await scheduler.store.db.selectFrom('accounts').select('name').limit(1).execute();
      return { ok: true, db: scheduler.store.engine };
    },
  );
};
