// Queries over the build cache: builds (one row per key), their files, and
// job_deps (who waits on what). Single-flight comes from the primary key:
// a build is inserted with ON CONFLICT DO NOTHING and read back. Rows leave
// here with their JSON columns parsed (BuildRow).
import { sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import type { BuildFilesTable, BuildsTable, BuildState, Database, DepState, JobDepsTable } from './schema.ts';
import type { Tx } from './dialect.ts';
import type { DepFailure } from '../api/contract.ts';

export type Db = Kysely<Database>;

export interface BuildRow extends Omit<Selectable<BuildsTable>, 'params' | 'error'> {
  params: Record<string, string>;
  error: DepFailure | null;
}
export interface NewBuild extends Omit<Insertable<BuildsTable>, 'params' | 'error'> {
  params: Record<string, string>;
}
export type BuildFileRow = Selectable<BuildFilesTable>;
export type DepRow = Selectable<JobDepsTable>;

function decodeBuild(r: Selectable<BuildsTable>): BuildRow {
  return {
    ...r,
    pkgbuild_job: r.pkgbuild_job == null ? null : Number(r.pkgbuild_job),
    params: JSON.parse(r.params) as Record<string, string>,
    error: r.error == null ? null : (JSON.parse(r.error) as DepFailure),
  };
}

/** Inserts the build unless its key exists; true if this call inserted it. */
export async function insertBuildIfAbsent(db: Db, build: NewBuild): Promise<boolean> {
  const rows = await db
    .insertInto('builds')
    .values({ ...build, params: JSON.stringify(build.params) })
    .onConflict((oc) => oc.column('key').doNothing())
    .returning('key')
    .execute();
  return rows.length === 1;
}

export async function getBuild(db: Db, key: string): Promise<BuildRow | undefined> {
  const r = await db.selectFrom('builds').selectAll().where('key', '=', key).executeTakeFirst();
  return r && decodeBuild(r);
}

/** The one build whose key starts with `prefix`, as users copy keys from paths (<sha>-<key12>). */
export async function buildByPrefix(db: Db, prefix: string): Promise<BuildRow | undefined> {
  const hits = await db.selectFrom('builds').selectAll().where('key', 'like', `${prefix}%`).limit(2).execute();
  return hits.length === 1 ? decodeBuild(hits[0]!) : undefined;
}

export async function getBuilds(db: Db, keys: string[]): Promise<BuildRow[]> {
  if (keys.length === 0) return [];
  return (await db.selectFrom('builds').selectAll().where('key', 'in', keys).execute()).map(decodeBuild);
}

/**
 * The build, locked for the rest of the transaction: attaching a waiter and
 * ending the build serialise on this row, so a waiter is never added to a
 * build whose waiters were just released.
 */
export async function getBuildForUpdate(t: Tx, key: string): Promise<BuildRow | undefined> {
  const r = await t.dialect.forUpdate(t.db.selectFrom('builds').selectAll().where('key', '=', key)).executeTakeFirst();
  return r && decodeBuild(r);
}

export async function listBuilds(db: Db, f: { state?: BuildState | undefined; pkg?: string | undefined; limit?: number | undefined }): Promise<BuildRow[]> {
  let q = db.selectFrom('builds').selectAll();
  if (f.state) q = q.where('state', '=', f.state);
  if (f.pkg) q = q.where('pkg', '=', f.pkg);
  return (await q.orderBy('created_at', 'desc').limit(f.limit ?? 100).execute()).map(decodeBuild);
}

/** Builds of a package that succeeded or failed: what a bisect may find in the cache. */
export async function knownBuilds(db: Db, pkg: string): Promise<Pick<BuildRow, 'commit' | 'config' | 'params' | 'state' | 'created_at' | 'finished_at'>[]> {
  const rows = await db
    .selectFrom('builds')
    .select(['commit', 'config', 'params', 'state', 'created_at', 'finished_at'])
    .where('pkg', '=', pkg)
    .where('state', 'in', ['succeeded', 'failed'])
    .execute();
  return rows.map((r) => ({ ...r, params: JSON.parse(r.params) as Record<string, string> }));
}

/**
 * Puts a failed (past its memory) or cancelled build back in the queue; true
 * if it did. It runs where the submit asking for it now says (`testbox`):
 * the group is not part of the key, and the old one may be why it never ran.
 */
export async function requeueBuild(db: Db, key: string, fromStates: BuildState[], now: number, testbox?: string): Promise<boolean> {
  const r = await db
    .updateTable('builds')
    .set({ state: 'queued', attempts: 0, error: null, created_at: now, started_at: null, finished_at: null, pkgbuild_job: null, ...(testbox === undefined ? {} : { testbox }) })
    .where('key', '=', key)
    .where('state', 'in', fromStates)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Records a new pkgbuild job (attempt) for a queued build. */
export async function setBuildJob(db: Db, key: string, jobId: number): Promise<void> {
  await db
    .updateTable('builds')
    .set((eb) => ({ pkgbuild_job: jobId, attempts: eb('attempts', '+', 1), state: 'queued' }))
    .where('key', '=', key)
    .execute();
}

export async function markBuilding(db: Db, key: string, jobId: number, now: number): Promise<void> {
  await db.updateTable('builds').set({ state: 'building', started_at: now }).where('key', '=', key).where('pkgbuild_job', '=', jobId).where('state', '=', 'queued').execute();
}

/** Ends a build that is queued or building; false if it already ended. */
export async function endBuild(db: Db, key: string, state: 'succeeded' | 'failed' | 'cancelled', now: number, error?: DepFailure): Promise<boolean> {
  const r = await db
    .updateTable('builds')
    .set({ state, finished_at: now, error: error === undefined ? null : JSON.stringify(error) })
    .where('key', '=', key)
    .where('state', 'in', ['queued', 'building'])
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export async function putBuildFile(db: Db, file: BuildFileRow): Promise<void> {
  await db
    .insertInto('build_files')
    .values(file)
    .onConflict((oc) => oc.columns(['build_key', 'name']).doUpdateSet({ path: file.path, size: file.size, sha256: file.sha256, job_id: file.job_id }))
    .execute();
}

export async function buildFiles(db: Db, keys: string[]): Promise<BuildFileRow[]> {
  if (keys.length === 0) return [];
  const rows = await db.selectFrom('build_files').selectAll().where('build_key', 'in', keys).execute();
  return rows.map((r) => ({ ...r, size: Number(r.size), job_id: Number(r.job_id) }));
}

export async function addDep(db: Db, dep: DepRow): Promise<void> {
  await db.insertInto('job_deps').values(dep).execute();
}

export async function depsOfJobs(db: Db, jobIds: number[]): Promise<DepRow[]> {
  if (jobIds.length === 0) return [];
  const rows = await db.selectFrom('job_deps').selectAll().where('job_id', 'in', jobIds).orderBy('pkg').execute();
  return rows.map((r) => ({ ...r, job_id: Number(r.job_id) }));
}

export async function waitersOf(db: Db, key: string): Promise<number[]> {
  const rows = await db.selectFrom('job_deps').select('job_id').where('build_key', '=', key).where('state', '=', 'waiting').execute();
  return rows.map((r) => Number(r.job_id));
}

export async function countWaiters(db: Db, key: string): Promise<number> {
  const row = await db
    .selectFrom('job_deps')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('build_key', '=', key)
    .where('state', '=', 'waiting')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * A build succeeded: every job waiting on it has one build fewer to wait
 * for, and its dep is done. Returns the jobs that have nothing left to wait
 * on (now dispatchable). Three statements, however many waiters.
 */
export async function releaseWaiters(db: Db, key: string): Promise<{ id: number; tbox_type: string; arch: string; pinned_host: string | null; submit_time: number }[]> {
  const waiting = db.selectFrom('job_deps').select('job_id').where('build_key', '=', key).where('state', '=', 'waiting');
  await db
    .updateTable('jobs')
    .set((eb) => ({ deps_pending: eb('deps_pending', '-', 1) }))
    .where('id', 'in', waiting)
    .where('stage', '=', 'submit')
    .execute();
  const ready = await db
    .selectFrom('jobs')
    .select(['id', 'tbox_type', 'arch', 'pinned_host', 'submit_time'])
    .where('id', 'in', waiting)
    .where('stage', '=', 'submit')
    .where('deps_pending', '=', 0)
    .execute();
  await db.updateTable('job_deps').set({ state: 'done' }).where('build_key', '=', key).where('state', '=', 'waiting').execute();
  return ready.map((r) => ({ id: Number(r.id), tbox_type: r.tbox_type, arch: r.arch, pinned_host: r.pinned_host, submit_time: Number(r.submit_time) }));
}

/**
 * A build failed for good: every job still waiting on it in submit is
 * finished dependency_failed with the failure and its timeline entry, and
 * the waits are marked failed. Three statements, however many waiters.
 */
export async function failWaiters(db: Db, key: string, now: number, failure: DepFailure): Promise<void> {
  const waiting = db.selectFrom('job_deps').select('job_id').where('build_key', '=', key).where('state', '=', 'waiting');
  await db
    .insertInto('events')
    .columns(['job_id', 'time', 'kind', 'detail'])
    .expression(
      db
        .selectFrom('jobs')
        .select(['id', sql<number>`${now}`.as('time'), sql<string>`'finish'`.as('kind'), sql<string>`${JSON.stringify({ health: 'dependency_failed', dep_failure: failure })}`.as('detail')])
        .where('id', 'in', waiting)
        .where('stage', '=', 'submit'),
    )
    .execute();
  await db
    .updateTable('jobs')
    .set({ stage: 'finish', health: 'dependency_failed', finish_time: now, deadline: null, dep_failure: JSON.stringify(failure) })
    .where('id', 'in', waiting)
    .where('stage', '=', 'submit')
    .execute();
  await db.updateTable('job_deps').set({ state: 'failed' }).where('build_key', '=', key).where('state', '=', 'waiting').execute();
}

/** Marks a job's remaining waits; returns the builds it was still waiting on. */
export async function detachJob(db: Db, jobId: number, state: Extract<DepState, 'detached' | 'failed'>): Promise<string[]> {
  const rows = await db.selectFrom('job_deps').select('build_key').where('job_id', '=', jobId).where('state', '=', 'waiting').execute();
  if (rows.length > 0) await db.updateTable('job_deps').set({ state }).where('job_id', '=', jobId).where('state', '=', 'waiting').execute();
  return rows.map((r) => r.build_key);
}

/** Jobs (waiting or not) that depend on a build, newest first. */
export async function dependentsOf(db: Db, key: string, limit = 100): Promise<DepRow[]> {
  const rows = await db.selectFrom('job_deps').selectAll().where('build_key', '=', key).orderBy('job_id', 'desc').limit(limit).execute();
  return rows.map((r) => ({ ...r, job_id: Number(r.job_id) }));
}

/** The pkgbuild jobs (attempts) of a build, oldest first. */
export async function pkgbuildJobsOf(db: Db, key: string): Promise<{ id: number; stage: Selectable<Database['jobs']>['stage']; health: Selectable<Database['jobs']>['health'] }[]> {
  const jobs = await db.selectFrom('jobs').select(['id', 'stage', 'health']).where('build_key', '=', key).orderBy('id').execute();
  return jobs.map((j) => ({ id: Number(j.id), stage: j.stage, health: j.health }));
}
