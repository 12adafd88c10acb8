// /metrics (Prometheus), the job file's JSON Schema, and the server's health.
import type { FastifyPluginAsync } from 'fastify';
import { JobFileSchema } from '../../jobfile/index.ts';
import type { Scheduler } from '../../scheduler/scheduler.ts';

export const metaRoutes: FastifyPluginAsync<{ scheduler: Scheduler }> = async (app, { scheduler }) => {
  const registry = scheduler.ctx.metrics.registry;

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', hide: false } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });

  app.get('/api/schema/job', { schema: { summary: "The job file's JSON Schema" } }, async () => JobFileSchema);

  app.get('/api/health', { schema: { summary: 'Liveness: the server answers and its database too' } }, async () => {
    await scheduler.store.db.selectFrom('accounts').select('name').limit(1).execute();
    return { ok: true, dialect: scheduler.store.dialect };
  });
};
