// Queries over the jobs table: insert, read, list, stage moves and finish.
// Every state-changing update is guarded by the stage it expects, so a late
// or duplicate report changes nothing. Rows leave here with their JSON
// columns parsed (JobRow).
import type { Kysely } from 'kysely';
import type { Database, Stage, Health } from './schema.ts';
import type { Tx } from './dialect.ts';
import { ACTIVE_STAGES } from '../model/lifecycle.ts';
import type { DepFailure, Stats } from '../api/contract.ts';
import { decodeJob, type JobRow, type NewJob } from './rows.ts';

export { decodeJob, type JobRow, type NewJob } from './rows.ts';

export type Db = Kysely<Database>;

export async function insertJob(db: Db, job: NewJob): Promise<number> {
  const row = await db
    .insertInto('jobs')
    .values({ ...job, spec: JSON.stringify(job.spec) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

export async function setResultRoot(db: Db, id: number, resultRoot: string): Promise<void> {
  await db.updateTable('jobs').set({ result_root: resultRoot }).where('id', '=', id).execute();
}

/** Locks jobs in id order, so two transactions touching the same jobs never deadlock. */
export async function lockJobs(t: Tx, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await t.dialect.forUpdate(t.db.selectFrom('jobs').select('id').where('id', 'in', ids).orderBy('id')).execute();
}

/** The two things known only after a job's insert: its result root (it holds the id) and how many builds it waits on. */
export async function setRootAndPending(db: Db, id: number, resultRoot: string, depsPending: number): Promise<void> {
  await db.updateTable('jobs').set({ result_root: resultRoot, deps_pending: depsPending }).where('id', '=', id).execute();
}

/** Pins queued jobs to one testbox: only it may claim them (a bisect spreading a commit's samples). */
export async function pinJob(db: Db, id: number, host: string): Promise<void> {
  await db.updateTable('jobs').set({ pinned_host: host }).where('id', '=', id).where('stage', '=', 'submit').execute();
}

/** Lets any testbox take queued jobs that were pinned to one of `hosts` (boxes that went away); returns the jobs freed. */
export async function unpinJobs(db: Db, ids: number[], hosts: string[]): Promise<{ id: number; tbox_type: string; arch: string }[]> {
  if (ids.length === 0 || hosts.length === 0) return [];
  const rows = await db
    .updateTable('jobs')
    .set({ pinned_host: null })
    .where('id', 'in', ids)
    .where('stage', '=', 'submit')
    .where('pinned_host', 'in', hosts)
    .returning(['id', 'tbox_type', 'arch', 'deps_pending'])
    .execute();
  return rows.filter((r) => r.deps_pending === 0).map((r) => ({ id: Number(r.id), tbox_type: r.tbox_type, arch: r.arch }));
}

export async function getJob(db: Db, id: number): Promise<JobRow | undefined> {
  const r = await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
  return r && decodeJob(r);
}

export interface JobFilter {
  stage?: Stage | undefined;
  health?: Health | undefined;
  suite?: string | undefined;
  account?: string | undefined;
  /** Only ids below this (paging backwards from the newest). */
  before?: number | undefined;
  limit?: number | undefined;
  /** Finished with any health but success (failed, timeout, dependency_failed, abnormal, cancel). */
  notSuccess?: boolean | undefined;
  /** Only these jobs. */
  ids?: readonly number[] | undefined;
  /** Jobs with this ss package (job_deps). */
  pkg?: string | undefined;
  /** Jobs with an ss build at a commit starting with this hex (with pkg: of that package). */
  commit?: string | undefined;
  /** A bisect's probe jobs, or 'none': jobs that are no bisect's probe. */
  bisect?: number | 'none' | undefined;
}

export async function listJobs(db: Db, f: JobFilter): Promise<JobRow[]> {
  let q = db.selectFrom('jobs').selectAll();
  if (f.stage) q = q.where('stage', '=', f.stage);
  if (f.health) q = q.where('health', '=', f.health);
  if (f.suite) q = q.where('suite', '=', f.suite);
  if (f.account) q = q.where('account', '=', f.account);
  if (f.before) q = q.where('id', '<', f.before);
  if (f.notSuccess) q = q.where('health', 'is not', null).where('health', '!=', 'success');
  if (f.ids) q = q.where('id', 'in', f.ids.length > 0 ? [...f.ids] : [-1]);
  if (f.pkg || f.commit) {
    const { pkg, commit } = f;
    q = q.where('id', 'in', (eb) => {
      let sub = eb.selectFrom('job_deps').innerJoin('builds', 'builds.key', 'job_deps.build_key').select('job_deps.job_id');
      if (pkg) sub = sub.where('job_deps.pkg', '=', pkg);
      // shas are lower-case hex (the route's pattern), so LIKE's wildcards cannot appear in it
      if (commit) sub = sub.where('builds.commit', 'like', `${commit.toLowerCase()}%`);
      return sub;
    });
  }
  if (f.bisect === 'none') q = q.where('id', 'not in', (eb) => eb.selectFrom('bisect_jobs').select('job_id'));
  else if (f.bisect !== undefined) {
    const bisect = f.bisect;
    q = q.where('id', 'in', (eb) => eb.selectFrom('bisect_jobs').select('job_id').where('bisect_id', '=', bisect));
  }
  return (await q.orderBy('id', 'desc').limit(f.limit ?? 100).execute()).map(decodeJob);
}

export async function countByStage(db: Db): Promise<Record<string, number>> {
  const rows = await db.selectFrom('jobs').select(['stage', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('stage').execute();
  return Object.fromEntries(rows.map((r) => [r.stage, Number(r.n)]));
}

/** Moves a job held by `hostname` from one of `from` to `to`; false if it was not there. */
export async function moveStage(
  db: Db,
  id: number,
  hostname: string,
  from: readonly Stage[],
  to: Stage,
  now: number,
  deadline: number | null,
): Promise<boolean> {
  const r = await db
    .updateTable('jobs')
    .set({ stage: to, deadline, ...(to === 'running' ? { running_time: now } : {}) })
    .where('id', '=', id)
    .where('assigned', '=', hostname)
    .where('stage', 'in', from)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

export interface FinishFields {
  health: Health;
  now: number;
  stats?: Stats | null;
  depFailure?: DepFailure;
  /** Only finish the job if it is in one of these stages. */
  from?: readonly Stage[];
}

/** Finishes a job not yet finished; false if it already was (or was not in `from`). */
export async function finishJob(db: Db, id: number, f: FinishFields): Promise<boolean> {
  let q = db
    .updateTable('jobs')
    .set({
      stage: 'finish',
      health: f.health,
      finish_time: f.now,
      deadline: null,
      job_token_sha256: null,
      ...(f.stats !== undefined ? { stats: f.stats === null ? null : JSON.stringify(f.stats) } : {}),
      ...(f.depFailure !== undefined ? { dep_failure: JSON.stringify(f.depFailure) } : {}),
    })
    .where('id', '=', id)
    .where('stage', '!=', 'finish');
  if (f.from) q = q.where('stage', 'in', f.from);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** Jobs whose stage deadline has passed. */
export async function expiredJobs(db: Db, now: number, limit = 500): Promise<JobRow[]> {
  return (await db.selectFrom('jobs').selectAll().where('deadline', '<', now).where('stage', '!=', 'finish').orderBy('deadline').limit(limit).execute()).map(decodeJob);
}

/** Jobs a testbox holds now. */
export async function jobsOnTestbox(db: Db, hostname: string): Promise<JobRow[]> {
  return (await db.selectFrom('jobs').selectAll().where('assigned', '=', hostname).where('stage', 'in', ACTIVE_STAGES).execute()).map(decodeJob);
}

/** Counts bytes against a job's upload quota; false (and nothing counted) if they would pass it. */
export async function chargeUpload(db: Db, id: number, bytes: number, quota: number): Promise<boolean> {
  const r = await db
    .updateTable('jobs')
    .set((eb) => ({ result_bytes: eb('result_bytes', '+', bytes) }))
    .where('id', '=', id)
    .where((eb) => eb(eb('result_bytes', '+', bytes), '<=', quota))
    .executeTakeFirst();
  return Number(r.numUpdatedRows) === 1;
}

/** The ids of the jobs a testbox holds now (no row bodies: heartbeats ask this often). */
export async function jobIdsOnTestbox(db: Db, hostname: string): Promise<number[]> {
  return (await db.selectFrom('jobs').select('id').where('assigned', '=', hostname).where('stage', 'in', ACTIVE_STAGES).execute()).map((r) => Number(r.id));
}

/**
 * Where a dispatchable job stands among the dispatchable jobs of its type
 * and arch: 1 + those ahead of it by the claim's order within an account
 * (priority, then age). Fair sharing between accounts can move it, so this
 * is an estimate, not a promise.
 */
export async function queuePosition(db: Db, job: Pick<JobRow, 'id' | 'tbox_type' | 'arch' | 'priority'>): Promise<number> {
  const r = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('stage', '=', 'submit')
    .where('deps_pending', '=', 0)
    .where('tbox_type', '=', job.tbox_type)
    .where('arch', '=', job.arch)
    .where((eb) => eb.or([eb('priority', '>', job.priority), eb.and([eb('priority', '=', job.priority), eb('id', '<', job.id)])]))
    .executeTakeFirst();
  return 1 + Number(r?.n ?? 0);
}

/** Dispatchable jobs waiting since before `before`, grouped by what a testbox must offer them: the queue-timeout sweep's first look. */
export async function waitingGroups(db: Db, before: number): Promise<{ tbox_type: string; arch: string; memory_minimum: number }[]> {
  return db
    .selectFrom('jobs')
    .select(['tbox_type', 'arch', 'memory_minimum'])
    .where('stage', '=', 'submit')
    .where('deps_pending', '=', 0)
    .where('submit_time', '<', before)
    .groupBy(['tbox_type', 'arch', 'memory_minimum'])
    .execute();
}

/** The dispatchable jobs of one such group waiting since before `before`. */
export async function waitingJobsOf(db: Db, g: { tbox_type: string; arch: string; memory_minimum: number }, before: number, limit = 500): Promise<JobRow[]> {
  const rows = await db
    .selectFrom('jobs')
    .selectAll()
    .where('stage', '=', 'submit')
    .where('deps_pending', '=', 0)
    .where('submit_time', '<', before)
    .where('tbox_type', '=', g.tbox_type)
    .where('arch', '=', g.arch)
    .where('memory_minimum', '=', g.memory_minimum)
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map(decodeJob);
}

/** Jobs by id (any number: asked in chunks the engines' parameter limits allow). */
export async function jobsByIds(db: Db, ids: number[]): Promise<JobRow[]> {
  const out: JobRow[] = [];
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    out.push(...(await db.selectFrom('jobs').selectAll().where('id', 'in', chunk).execute()).map(decodeJob));
  }
  return out;
}

/** A health-check job pinned to `host` submitted at or after `since` (any stage): the lab queues one per time a box leaves dispatch. */
export async function healthCheckSince(db: Db, host: string, since: number): Promise<boolean> {
  const r = await db.selectFrom('jobs').select('id').where('health_check', '=', 1).where('pinned_host', '=', host).where('submit_time', '>=', since).limit(1).executeTakeFirst();
  return r !== undefined;
}
