// The web dashboard's pages (rendering in ../dashboard.ts, ../compare-page.ts,
// ../build-page.ts): `/` (the jobs list filtered and paged like GET
// /api/jobs), one page per job, build and bisect, and /ui/compare.
// Read-only, from the same scheduler calls as the API; hidden from the
// OpenAPI document, which describes the JSON API.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Scheduler } from '../../scheduler/scheduler.ts';
import { bisectPage, jobPage, overviewPage } from '../dashboard.ts';
import { IdParams } from '../schemas.ts';
import { JobQuery } from '../../api/contract.ts';
import { jobFilter, type JobQueryValue } from '../job-query.ts';
import { buildPage } from '../build-page.ts';
import { Value } from 'typebox/value';
import { UserError } from '../../errors.ts';
import { compareJobs } from '../../scheduler/compare.ts';
import { comparePage, type CompareForm } from '../compare-page.ts';
import { compareQuery, CompareQuerySchema } from './compare.ts';

export const dashboardRoutes: FastifyPluginAsync<{ scheduler: Scheduler }> = async (fastify, { scheduler }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/',
    {
      config: { access: 'public' },
      schema: {
        hide: true,
        // a form sends its empty fields too: '' is no filter
        querystring: Type.Object({
          ...Object.fromEntries(Object.entries(JobQuery).map(([k, v]) => [k, Type.Optional(Type.Union([Type.Literal(''), v]))])),
          before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
          limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
        }),
      },
    },
    async (request, reply) => {
      // Only the filters the page declares reach the store (a query may carry anything else); empty form fields are no filter.
      const { before, limit, ...asked } = request.query;
      const filters = Object.fromEntries(Object.entries(asked).filter(([, v]) => v !== undefined && v !== '')) as JobQueryValue;
      const [testboxes, jobs, builds, bisects] = await Promise.all([
        scheduler.testboxes(),
        scheduler.jobs({ ...jobFilter(filters), before, limit: limit + 1 }),
        scheduler.builds({ limit: 20 }),
        scheduler.bisects.list(10),
      ]);
      const older = jobs.length > limit ? jobs[limit - 1]!.id : undefined;
      const filter: Record<string, string | undefined> = Object.fromEntries(Object.entries(filters).map(([k, v]) => [k, String(v)]));
      if (limit !== 50) filter.limit = String(limit);
      return reply.type('text/html; charset=utf-8').send(overviewPage({ testboxes, jobs: jobs.slice(0, limit), builds, bisects, filter, older, paged: before !== undefined }));
    },
  );

  app.get(
    '/ui/builds/:key',
    { config: { access: 'public' }, schema: { hide: true, params: Type.Object({ key: Type.String({ pattern: '^[0-9a-f]{6,64}$' }) }) } },
    async (request, reply) => {
      const b = await scheduler.build(request.params.key);
      const pkgbuild = b.pkgbuild_job ? await scheduler.job(b.pkgbuild_job).catch(() => undefined) : undefined;
      return reply.type('text/html; charset=utf-8').send(buildPage(b, pkgbuild));
    },
  );

  app.get('/ui/jobs/:id', { config: { access: 'public' }, schema: { hide: true, params: IdParams } }, async (request, reply) => {
    return reply.type('text/html; charset=utf-8').send(jobPage(await scheduler.job(request.params.id)));
  });

  app.get('/ui/bisects/:id', { config: { access: 'public' }, schema: { hide: true, params: IdParams } }, async (request, reply) => {
    return reply.type('text/html; charset=utf-8').send(bisectPage(await scheduler.bisects.view(request.params.id)));
  });

  // The form's fields arrive as strings, empty ones too: checked here against the API's schema so a bad value is said on the page, not as JSON.
  const formFields = ['group_by', 'suite', 'pkg', 'commit', 'bisect', 'ids', 'stat', 'where', 'base', 'plot'] as const;
  app.get(
    '/ui/compare',
    { config: { access: 'public' }, schema: { hide: true, querystring: Type.Object(Object.fromEntries(formFields.map((k) => [k, Type.Optional(Type.String({ maxLength: 1000 }))]))) } },
    async (request, reply) => {
      const asked = request.query as Record<string, string | undefined>;
      const f: CompareForm = Object.fromEntries(formFields.map((k) => [k, asked[k] === '' ? undefined : asked[k]]));
      const send = (status: number, text: string) => reply.code(status).type('text/html; charset=utf-8').send(text);
      if (!f.group_by) return send(200, comparePage(f, undefined));
      const { plot: _plot, ...api } = f;
      const q = Value.Default(CompareQuerySchema, Value.Convert(CompareQuerySchema, Object.fromEntries(Object.entries(api).filter(([, v]) => v !== undefined))));
      const bad = [...Value.Errors(CompareQuerySchema, q)][0];
      if (bad) return send(400, comparePage(f, undefined, `${bad.instancePath.replace(/^\//, '') || 'query'}: ${bad.message}`));
      try {
        return send(200, comparePage(f, await compareJobs(scheduler.ctx, compareQuery(q as Parameters<typeof compareQuery>[0]))));
      } catch (err) {
        if (err instanceof UserError) return send(400, comparePage(f, undefined, err.message));
        throw err;
      }
    },
  );
};
