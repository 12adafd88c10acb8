// The jobs list's filters as a route reads them (api/contract's JobQuery)
// turned into the store's JobFilter: GET /api/jobs, GET /api/compare and the
// dashboard's job list choose jobs the same way.
import { Type, type Static } from 'typebox';
import { JobQuery } from '../api/contract.ts';
import type { JobFilter } from '../store/jobs.ts';

export const JobQuerySchema = Type.Object(JobQuery);
export type JobQueryValue = Static<typeof JobQuerySchema>;

export function jobFilter(q: JobQueryValue): JobFilter {
  const { health, bisect, ...rest } = q;
  return {
    ...rest,
    health: health === 'not_success' ? undefined : health,
    notSuccess: health === 'not_success' || undefined,
    bisect: bisect === undefined ? undefined : bisect === 'none' ? 'none' : Number(bisect),
  };
}
