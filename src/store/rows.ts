// Rows as they leave the store: ids as numbers and JSON columns parsed, so
// nothing above store/ parses or casts a column.
import type { Insertable, Selectable } from 'kysely';
import type { JobsTable } from './schema.ts';
import type { ResolvedJob } from '../model/job.ts';
import type { DepFailure, Stats } from '../api/contract.ts';

/** A job row as the scheduler sees it: ids as numbers, JSON parsed. */
export interface JobRow extends Omit<Selectable<JobsTable>, 'spec' | 'stats' | 'dep_failure'> {
  spec: ResolvedJob;
  stats: Stats | null;
  dep_failure: DepFailure | null;
}

export interface NewJob extends Omit<Insertable<JobsTable>, 'spec' | 'stats' | 'dep_failure'> {
  spec: ResolvedJob;
}

export function decodeJob(r: Selectable<JobsTable>): JobRow {
  return {
    ...r,
    id: Number(r.id),
    spec: JSON.parse(r.spec) as ResolvedJob,
    stats: r.stats == null ? null : (JSON.parse(r.stats) as Stats),
    dep_failure: r.dep_failure == null ? null : (JSON.parse(r.dep_failure) as DepFailure),
  };
}

