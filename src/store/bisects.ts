// Queries over bisects: the bisect rows, the engine's log (append-only, in
// order) and the probe jobs. A run is appended to the log and its job marked
// recorded in the same transaction, so after a restart every finished probe
// counts exactly once. Rows leave here with their JSON columns parsed.
import type { Kysely, Selectable } from 'kysely';
import type { BisectJobsTable, BisectsTable, Database } from './schema.ts';
import type { Tx } from './dialect.ts';
import type { BisectResult, BisectSpec, Criterion, Dag, Direction, LogEntry } from '../bisect/types.ts';
import type { BisectRequest, CommitInfo, DepFailure, Stats } from '../api/contract.ts';
import type { Health, Stage } from '../model/lifecycle.ts';

type Db = Kysely<Database>;

/** A bisect's request as stored: the job template, the refs as written and resolved. */
export interface StoredBisectRequest extends Omit<BisectRequest, 'job' | 'good' | 'criterion' | 'direction'> {
  job: Record<string, unknown>;
  criterion: Criterion;
  direction?: Direction;
  /** Full shas. */
  good: string[];
  /** The good refs as written. */
  good_refs: string[];
  /** The bad ref as written (`bad` is its full sha). */
  bad_ref: string;
}

/** The engine's result with the subject, author and date of every commit it names. */
export type StoredBisectResult = BisectResult & { commits: Record<string, CommitInfo> };

export interface BisectRow extends Omit<Selectable<BisectsTable>, 'request' | 'dag' | 'spec' | 'result'> {
  request: StoredBisectRequest;
  dag: Dag;
  spec: BisectSpec;
  result: StoredBisectResult | null;
}

export interface NewBisect {
  pkg: string;
  criterion: Criterion;
  request: StoredBisectRequest;
  upstream_url: string;
  dag: Dag;
  spec: BisectSpec;
  now: number;
  /** The account it belongs to. */
  account: string;
}

export type BisectJobRow = Selectable<BisectJobsTable>;

function decode(r: Selectable<BisectsTable>): BisectRow {
  return {
    ...r,
    id: Number(r.id),
    request: JSON.parse(r.request) as StoredBisectRequest,
    dag: JSON.parse(r.dag) as Dag,
    spec: JSON.parse(r.spec) as BisectSpec,
    result: r.result == null ? null : (JSON.parse(r.result) as StoredBisectResult),
  };
}

const jobRow = (r: BisectJobRow): BisectJobRow => ({ ...r, job_id: Number(r.job_id), bisect_id: Number(r.bisect_id) });

export async function insertBisect(db: Db, b: NewBisect): Promise<number> {
  const r = await db
    .insertInto('bisects')
    .values({
      state: 'running',
      pkg: b.pkg,
      criterion: b.criterion,
      request: JSON.stringify(b.request),
      upstream_url: b.upstream_url,
      dag: JSON.stringify(b.dag),
      spec: JSON.stringify(b.spec),
      created_at: b.now,
      updated_at: b.now,
      account: b.account,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(r.id);
}

export async function getBisect(db: Db, id: number): Promise<BisectRow | undefined> {
  const r = await db.selectFrom('bisects').selectAll().where('id', '=', id).executeTakeFirst();
  return r && decode(r);
}

export async function listBisects(db: Db, limit = 100): Promise<BisectRow[]> {
  return (await db.selectFrom('bisects').selectAll().orderBy('id', 'desc').limit(limit).execute()).map(decode);
}

export async function runningBisects(db: Db): Promise<number[]> {
  return (await db.selectFrom('bisects').select('id').where('state', '=', 'running').execute()).map((r) => Number(r.id));
}

/** Whether the bisect is running, its row locked for the rest of the transaction (a cancel and a new round serialise on it). */
export async function isRunningForUpdate(t: Tx, id: number): Promise<boolean> {
  const r = await t.dialect.forUpdate(t.db.selectFrom('bisects').select('state').where('id', '=', id)).executeTakeFirst();
  return r?.state === 'running';
}

/** Ends a running bisect; false if it had already ended (a cancel and a finish racing). */
export async function endBisect(db: Db, id: number, state: 'done' | 'failed' | 'cancelled', now: number, result?: StoredBisectResult, error?: string): Promise<boolean> {
  const r = await db
    .updateTable('bisects')
    .set({ state, updated_at: now, finished_at: now, result: result === undefined ? null : JSON.stringify(result), error: error ?? null, driver: null, lease_until: null })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/**
 * Takes or renews the lease on driving a running bisect: true if `driver`
 * holds it now (it was free, expired, or already its own). Where one server
 * owns the database, a lease naming another process was left by a dead one
 * and is taken at once.
 */
export async function leaseBisect(t: Tx, id: number, driver: string, now: number, until: number): Promise<boolean> {
  const r = await t.db
    .updateTable('bisects')
    .set({ driver, lease_until: until })
    .where('id', '=', id)
    .where('state', '=', 'running')
    .where((eb) => (t.dialect.singleServer ? eb.lit(true) : eb.or([eb('driver', '=', driver), eb('driver', 'is', null), eb('lease_until', '<', now)])))
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

export async function readLog(db: Db, id: number): Promise<LogEntry[]> {
  const rows = await db.selectFrom('bisect_log').select('entry').where('bisect_id', '=', id).orderBy('seq').execute();
  return rows.map((r) => JSON.parse(r.entry) as LogEntry);
}

/** Appends entries at their sequence numbers; the primary key refuses a second writer of the same entry. */
export async function appendLog(db: Db, id: number, fromSeq: number, entries: LogEntry[]): Promise<void> {
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
  return (await db.selectFrom('bisect_jobs').selectAll().where('bisect_id', '=', id).orderBy('job_id').execute()).map(jobRow);
}

/** A probe job with what its job row says now: where it runs or ran, and how it ended. */
export interface BisectProbeRow extends BisectJobRow {
  stage: Stage;
  health: Health | null;
  assigned: string | null;
  pinned_host: string | null;
  stats: Stats | null;
  dep_failure: DepFailure | null;
}

export async function bisectProbes(db: Db, id: number): Promise<BisectProbeRow[]> {
  const rows = await db
    .selectFrom('bisect_jobs as b')
    .innerJoin('jobs as j', 'j.id', 'b.job_id')
    .select(['b.job_id', 'b.bisect_id', 'b.sha', 'b.round', 'b.recorded', 'j.stage', 'j.health', 'j.assigned', 'j.pinned_host', 'j.stats', 'j.dep_failure'])
    .where('b.bisect_id', '=', id)
    .orderBy('b.job_id')
    .execute();
  return rows.map((r) => ({
    ...jobRow(r),
    stage: r.stage,
    health: r.health,
    assigned: r.assigned,
    pinned_host: r.pinned_host,
    stats: r.stats == null ? null : (JSON.parse(r.stats) as Stats),
    dep_failure: r.dep_failure == null ? null : (JSON.parse(r.dep_failure) as DepFailure),
  }));
}

/** Marks a probe job's run as in the log; false if it already was. */
export async function markRecorded(db: Db, jobId: number): Promise<boolean> {
  const r = await db.updateTable('bisect_jobs').set({ recorded: 1 }).where('job_id', '=', jobId).where('recorded', '=', 0).executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}
