// The build cache as the API and `stacklab builds` show it (api/contract's Build).
import { NotFoundError } from '../errors.ts';
import type { Build } from '../api/contract.ts';
import { buildByPrefix, buildFiles, countWaiters, dependentsOf, getBuild, listBuilds, pkgbuildJobsOf, type BuildRow } from '../store/builds.ts';
import type { BuildState } from '../store/schema.ts';
import type { Db } from '../store/jobs.ts';
import { iso } from './views.ts';

async function view(db: Db, b: BuildRow): Promise<Build> {
  const files = await buildFiles(db, [b.key]);
  return {
    key: b.key,
    pkg: b.pkg,
    fork: b.fork,
    upstream_url: b.upstream_url,
    commit: b.commit,
    commit_ref: b.commit_ref,
    config: b.config,
    os: b.os,
    os_version: b.os_version,
    os_arch: b.os_arch,
    params: b.params,
    testbox: b.testbox,
    state: b.state,
    attempts: b.attempts,
    pkgbuild_job: b.pkgbuild_job,
    error: b.error,
    created_at: iso(b.created_at)!,
    started_at: iso(b.started_at),
    finished_at: iso(b.finished_at),
    // Only the current job's files count: a failed attempt's leftovers are not the build.
    files: files.filter((f) => f.job_id === b.pkgbuild_job).map((f) => ({ name: f.name, url: f.path, size: f.size, sha256: f.sha256 })),
    waiting: await countWaiters(db, b.key),
  };
}

export interface BuildFilter {
  state?: BuildState | undefined;
  pkg?: string | undefined;
  limit?: number | undefined;
}

export async function buildList(db: Db, f: BuildFilter): Promise<Build[]> {
  return Promise.all((await listBuilds(db, f)).map((b) => view(db, b)));
}

export async function buildDetail(db: Db, key: string): Promise<Build> {
  let b = await getBuild(db, key);
  // A key prefix, as users copy it from paths (<sha>-<key12>).
  if (!b && /^[0-9a-f]{6,63}$/.test(key)) b = await buildByPrefix(db, key);
  if (!b) throw new NotFoundError('build', key);
  const v = await view(db, b);
  v.pkgbuild_jobs = await pkgbuildJobsOf(db, b.key);
  v.jobs = (await dependentsOf(db, b.key)).map((d) => ({ job_id: d.job_id, wait: d.state }));
  return v;
}
