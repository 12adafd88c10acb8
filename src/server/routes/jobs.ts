// /api/jobs: submit (JSON or YAML), read, list, follow the timeline, cancel.
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { JobFileError, loadJobText } from '../../jobfile/index.ts';
import { UserError } from '../../errors.ts';
import type { Scheduler } from '../../scheduler/scheduler.ts';
import { DryRun, EventsPage, Job, JobQuery, SubmitResults, type SubmitIssue } from '../../api/contract.ts';
import { jobFilter } from '../job-query.ts';
import { errorResponses, IdParams } from '../schemas.ts';
import { clientGone } from '../errors.ts';
import { checkYamlText } from '../body-limits.ts';

export const jobRoutes: FastifyPluginAsync<{ scheduler: Scheduler }> = async (fastify, { scheduler }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();

  app.addContentTypeParser(['application/yaml', 'application/x-yaml', 'text/yaml'], { parseAs: 'string' }, (_req, body, done) => {
    try {
      checkYamlText(body as string);
      done(null, body);
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.post(
    '/api/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Submit jobs',
        description: 'Body: one job object, an array of them, or a job file as YAML (Content-Type: application/yaml; multi-document and matrix rules apply, includes do not). All jobs are submitted or none.',
        // The string (a YAML body) first: with coerceTypes 'array' a later Array branch would wrap it as [text].
        body: Type.Union([Type.String(), Type.Object({}, { additionalProperties: true }), Type.Array(Type.Unknown())]),
        querystring: Type.Object({ dry_run: Type.Boolean({ default: false, description: 'Answer what the submit would make (the jobs after the lab’s defaults, each ss package resolved, and whether its build would be reused, waited on or made) and submit nothing' }) }),
        response: { 200: Type.Union([SubmitResults, DryRun]), ...errorResponses },
      },
      // Jobs may carry the config files they name (upload_fields); a kernel config is a few hundred KiB.
      bodyLimit: 64 * 1024 * 1024,
    },
    async (request) => {
      const body = request.body;
      const key = request.headers['idempotency-key'];
      if (key !== undefined && (typeof key !== 'string' || !/^[\x21-\x7e]{1,200}$/.test(key))) throw new UserError('invalid_request', 'Idempotency-Key must be 1 to 200 visible ASCII characters');
      const submit = (jobs: unknown[]) => (request.query.dry_run ? scheduler.dryRun(jobs, request.caller) : scheduler.submit(jobs, request.caller, key));
      if (typeof body === 'string') {
        const loaded = loadJobText(body, 'request body');
        try {
          return await submit(loaded.jobs);
        } catch (err) {
          // Point the scheduler's objections at the lines of the YAML body.
          const issues = (err as UserError).details as { issues?: SubmitIssue[] } | undefined;
          if (err instanceof UserError && err.code === 'invalid_job' && issues?.issues) {
            throw new JobFileError(
              issues.issues.map((i) => ({ ...loaded.locate(i.job, i.path ? i.path.split('.') : []), path: i.path, message: i.message })),
            );
          }
          throw err;
        }
      }
      return submit(Array.isArray(body) ? body : [body]);
    },
  );

  app.get(
    '/api/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'List jobs, newest first',
        querystring: Type.Object({
          ...JobQuery,
          before: Type.Optional(Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER })),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        }),
        response: { 200: Type.Array(Job), ...errorResponses },
      },
    },
    async (request) => {
      const { before, limit, ...filters } = request.query;
      return scheduler.jobs({ ...jobFilter(filters), before, limit });
    },
  );

  app.get(
    '/api/jobs/:id',
    { schema: { tags: ['jobs'], summary: 'A job with its deps, ss_wait_jobs and timeline', params: IdParams, response: { 200: Job, ...errorResponses } } },
    async (request) => scheduler.job(request.params.id),
  );

  app.get(
    '/api/jobs/:id/events',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Timeline entries after an event id; waits up to `wait` seconds for the next one',
        params: IdParams,
        querystring: Type.Object({ after: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 }), wait: Type.Number({ minimum: 0, maximum: 60, default: 0 }) }),
        response: { 200: EventsPage, ...errorResponses },
      },
    },
    async (request, reply) => scheduler.events(request.params.id, request.query.after, request.query.wait * 1000, clientGone(reply)),
  );

  app.post(
    '/api/jobs/:id/cancel',
    { schema: { tags: ['jobs'], summary: 'Cancel a job that has not finished', params: IdParams, response: { 200: Job, ...errorResponses } } },
    async (request) => {
      await scheduler.cancel(request.params.id, request.caller);
      return scheduler.job(request.params.id);
    },
  );
};
