// The timeline: every transition of a job, with its time and details.
import type { Kysely, Selectable } from 'kysely';
import type { Database, EventsTable } from './schema.ts';

export interface EventRow extends Omit<Selectable<EventsTable>, 'detail'> {
  detail: Record<string, unknown> | null;
}

export async function addEvent(db: Kysely<Database>, jobId: number, kind: string, time: number, detail?: unknown): Promise<void> {
  await db
    .insertInto('events')
    .values({ job_id: jobId, kind, time, detail: detail === undefined ? null : JSON.stringify(detail) })
    .execute();
}

export interface NewEvent {
  kind: string;
  detail?: unknown;
}

/** Several timeline entries of one job in one statement, in order. */
export async function addEvents(db: Kysely<Database>, jobId: number, time: number, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db
    .insertInto('events')
    .values(events.map((e) => ({ job_id: jobId, kind: e.kind, time, detail: e.detail === undefined ? null : JSON.stringify(e.detail) })))
    .execute();
}

export async function listEvents(db: Kysely<Database>, jobId: number, afterId = 0): Promise<EventRow[]> {
  const rows = await db.selectFrom('events').selectAll().where('job_id', '=', jobId).where('id', '>', afterId).orderBy('id').execute();
  return rows.map((r) => ({ ...r, id: Number(r.id), job_id: Number(r.job_id), detail: r.detail == null ? null : (JSON.parse(r.detail) as Record<string, unknown>) }));
}

/** How many timeline entries of this kind the job has (a retry count). */
export async function countEvents(db: Kysely<Database>, jobId: number, kind: string): Promise<number> {
  const r = await db.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('job_id', '=', jobId).where('kind', '=', kind).executeTakeFirst();
  return Number(r?.n ?? 0);
}

/** When each job last became dispatchable again (its last release or requeue), for the jobs that have one. */
export async function lastQueuedAt(db: Kysely<Database>, jobIds: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (jobIds.length === 0) return out;
  const rows = await db
    .selectFrom('events')
    .select(['job_id', (eb) => eb.fn.max('time').as('t')])
    .where('job_id', 'in', jobIds)
    .where('kind', 'in', ['release', 'requeue'])
    .groupBy('job_id')
    .execute();
  for (const r of rows) out.set(Number(r.job_id), Number(r.t));
  return out;
}
