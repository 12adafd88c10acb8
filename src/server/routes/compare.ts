// /api/compare: the stats of finished jobs grouped by a field, side by side
// (lkp's compare; scheduler/compare.ts groups, model/compare.ts computes).
import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import type { Scheduler } from '../../scheduler/scheduler.ts';
import { Comparison, JobQuery } from '../../api/contract.ts';
import { compareJobs, type CompareQuery } from '../../scheduler/compare.ts';
import { errorResponses } from '../schemas.ts';
import { jobFilter } from '../job-query.ts';

const List = (description: string, item = '[^,]{1,200}') => Type.String({ pattern: `^${item}(,${item}){0,99}$`, description });

export const CompareQuerySchema = Type.Object({
  group_by: Type.String({ pattern: '^[A-Za-z0-9_][A-Za-z0-9._+-]{0,199}$', description: 'ss.<pkg>.commit, ss.<pkg>.config, or a key path of the job (testbox, demo-test.iterations…)' }),
  ...JobQuery,
  ids: Type.Optional(List('Only these jobs (comma-separated ids)', '[1-9][0-9]{0,14}')),
  groups: Type.Optional(List('The groups to show, in this order: values, sha prefixes or refs as written')),
  base: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'The group the others are compared with (default: the first)' })),
  stat: Type.Optional(List('Only stats whose name contains one of these')),
  where: Type.Optional(List('Only jobs whose field has this value: FIELD=VALUE, comma-separated (e.g. labels.run=nightly-3)', '[A-Za-z0-9_][A-Za-z0-9._+-]{0,199}=[^,]{1,200}')),
  alpha: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.05, description: "Welch's p below this is significant" }),
  limit: Type.Integer({ minimum: 1, maximum: 5000, default: 1000, description: 'The newest this many matching finished jobs' }),
});

/** The route's query as the scheduler's CompareQuery (the dashboard's page reads the same query). */
export function compareQuery(q: Static<typeof CompareQuerySchema>): CompareQuery {
  const { group_by, ids, groups, base, stat, where, alpha, limit, ...filters } = q;
  const split = (s: string | undefined) => (s === undefined ? undefined : s.split(','));
  const pairs = split(where)?.map((w): [string, string] => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]);
  return { group_by, groups: split(groups), base, stats: split(stat), where: pairs, alpha, filter: { ...jobFilter(filters), ids: split(ids)?.map(Number), limit } };
}

export const compareRoutes: FastifyPluginAsync<{ scheduler: Scheduler }> = async (fastify, { scheduler }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/api/compare',
    {
      schema: {
        tags: ['jobs'],
        summary: "Compare finished jobs' stats grouped by a field: per stat, each group's mean and stddev %, and each later group's change % against the first with Welch's p",
        querystring: CompareQuerySchema,
        response: { 200: Comparison, ...errorResponses },
      },
    },
    async (request) => compareJobs(scheduler.ctx, compareQuery(request.query)),
  );
};
