// Queries over bisects: the bisect rows, the engine's log (append-only, in
// order) and the probe jobs. A run is appended to the log and its job marked
// recorded in the same transaction, so after a restart every finished probe
// counts exactly once.
import type { Insertable, Selectable } from 'kysely';
import type { BisectJobsTable, BisectsTable } from './schema.ts';
import type { Db } from './jobs.ts';

export type BisectRow = Selectable<BisectsTable>;
export type BisectJobRow = Selectable<BisectJobsTable>;

const num = <T extends { id?: unknown; bisect_id?: unknown; job_id?: unknown }>(r: T): T => ({
  ...r,
  ...(r.id !== undefined ? { id: Number(r.id) } : {}),
  ...(r.bisect_id !== undefined ? { bisect_id: Number(r.bisect_id) } : {}),
  ...(r.job_id !== undefined ? { job_id: Number(r.job_id) } : {}),
});

export async function insertBisect(db: Db, row: Insertable<BisectsTable>): Promise<number> {
  const r = await db.insertInto('bisects').values(row).returning('id').executeTakeFirstOrThrow();
  return Number(r.id);
}

export async function getBisect(db: Db, id: number): Promise<BisectRow | undefined> {
  const r = await db.selectFrom('bisects').selectAll().where('id', '=', id).executeTakeFirst();
  return r && num(r);
}

export async function listBisects(db: Db, limit = 100): Promise<BisectRow[]> {
  return (await db.selectFrom('bisects').selectAll().orderBy('id', 'desc').limit(limit).execute()).map(num);
}

export async function runningBisects(db: Db): Promise<number[]> {
  return (await db.selectFrom('bisects').select('id').where('state', '=', 'running').execute()).map((r) => Number(r.id));
}

/** Ends a running bisect; false if it had already ended (a cancel and a finish racing). */
export async function endBisect(db: Db, id: number, state: 'done' | 'failed' | 'cancelled', now: number, result?: unknown, error?: string): Promise<boolean> {
  const r = await db
    .updateTable('bisects')
    .set({ state, updated_at: now, finished_at: now, result: result === undefined ? null : JSON.stringify(result), error: error ?? null })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Takes or renews the lease on driving a running bisect: true if `driver`
 * holds it now (it was free, expired, or already its own).
 */
export async function leaseBisect(db: Db, id: number, driver: string, now: number, until: number): Promise<boolean> {
  const r = await db
    .updateTable('bisects')
    .set({ driver, lease_until: until })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .where((eb) => eb.or([eb('driver', '=', driver), eb('driver', 'is', null), eb('lease_until', '<', now)]))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Gives a lease back (a server stopping), so another may take over at once. */
export async function releaseBisect(db: Db, id: number, driver: string): Promise<void> {
  await db.updateTable('bisects').set({ driver: null, lease_until: null }).where('id', '=', id).where('driver', '=', driver).execute();
}

export async function touchBisect(db: Db, id: number, now: number): Promise<void> {
  await db.updateTable('bisects').set({ updated_at: now }).where('id', '=', id).execute();
}

export async function readLog(db: Db, id: number): Promise<string[]> {
  const rows = await db.selectFrom('bisect_log').select('entry').where('bisect_id', '=', id).orderBy('seq').execute();
  return rows.map((r) => r.entry);
}

/** Appends entries at their sequence numbers; the primary key refuses a second writer of the same entry. */
export async function appendLog(db: Db, id: number, fromSeq: number, entries: unknown[]): Promise<void> {
  if (entries.length === 0) return;
  await db
    .insertInto('bisect_log')
    .values(entries.map((e, i) => ({ bisect_id: id, seq: fromSeq + i, entry: JSON.stringify(e) })))
    .execute();
}

export async function addBisectJobs(db: Db, rows: { job_id: number; bisect_id: number; sha: string; round: number }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto('bisect_jobs').values(rows.map((r) => ({ ...r, recorded: 0 }))).execute();
}

export async function bisectJobs(db: Db, id: number): Promise<BisectJobRow[]> {
  return (await db.selectFrom('bisect_jobs').selectAll().where('bisect_id', '=', id).orderBy('job_id').execute()).map(num);
}

/** Marks a probe job's run as in the log; false if it already was. */
export async function markRecorded(db: Db, jobId: number): Promise<boolean> {
  const r = await db.updateTable('bisect_jobs').set({ recorded: 1 }).where('job_id', '=', jobId).where('recorded', '=', 0).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
