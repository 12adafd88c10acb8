// Loads jobs with what their views need (timeline, deps with their builds
// and files) in a few batched queries.
import { NotFoundError } from '../errors.ts';
import { getJob, type JobRow } from '../store/jobs.ts';
import { listEvents } from '../store/events.ts';
import { buildFiles, depsOfJobs, getBuilds, type BuildRow } from '../store/builds.ts';
import type { Db } from '../store/jobs.ts';
import type { Job } from '../api/contract.ts';
import { jobDetail, type DepInfo } from './views.ts';
import { withWaitReason, withWaitReasons } from './waiting.ts';
import type { Ctx } from './context.ts';

export async function depsFor(db: Db, jobIds: number[]): Promise<Map<number, DepInfo[]>> {
  const deps = await depsOfJobs(db, jobIds);
  const byJob = new Map<number, DepInfo[]>();
  if (deps.length === 0) return byJob;
  const keys = [...new Set(deps.map((d) => d.build_key))];
  const builds = new Map<string, BuildRow>((await getBuilds(db, keys)).map((b) => [b.key, b]));
  const files = await buildFiles(db, keys);
  for (const d of deps) {
    const build = builds.get(d.build_key);
    if (!build) continue;
    const list = byJob.get(d.job_id) ?? [];
    list.push({ dep: d, build, files: files.filter((f) => f.build_key === d.build_key) });
    byJob.set(d.job_id, list);
  }
  return byJob;
}

/** One job with its timeline and, while it is queued, why it waits. */
export async function loadJob(ctx: Ctx, id: number): Promise<Job> {
  const db = ctx.store.db;
  const row = await getJob(db, id);
  if (!row) throw new NotFoundError('job', id);
  const events = await listEvents(db, id);
  const deps = (await depsFor(db, [id])).get(id) ?? [];
  return withWaitReason(ctx, jobDetail(row, events, deps), row, events, deps);
}

export async function loadJobs(ctx: Ctx, rows: JobRow[]): Promise<Job[]> {
  const deps = await depsFor(ctx.store.db, rows.map((r) => r.id));
  return withWaitReasons(ctx, rows.map((r) => jobDetail(r, undefined, deps.get(r.id))), rows, deps);
}
