// The build cache as the API and `stacklab builds` show it.
import { NotFoundError } from '../errors.ts';
import { buildFiles, countWaiters, dependentsOf, getBuild, listBuilds, type BuildRow } from '../store/builds.ts';
import type { Db } from '../store/jobs.ts';

export interface BuildView {
  key: string;
  pkg: string;
  fork: string;
  upstream_url: string;
  commit: string;
  commit_ref: string;
  config: string | null;
  os: string;
  os_version: string;
  os_arch: string;
  params: Record<string, string>;
  testbox: string;
  state: string;
  attempts: number;
  pkgbuild_job: number | null;
  error: unknown;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  files: { name: string; url: string; size: number; sha256: string }[];
  waiting: number;
  pkgbuild_jobs?: { id: number; stage: string; health: string | null }[];
  jobs?: { job_id: number; wait: string }[];
}

const iso = (ms: number | null) => (ms == null ? null : new Date(Number(ms)).toISOString());

async function view(db: Db, b: BuildRow): Promise<BuildView> {
  const files = await buildFiles(db, [b.key]);
  return {
    key: b.key,
    pkg: b.pkg,
    fork: b.fork,
    upstream_url: b.url,
    commit: b.sha,
    commit_ref: b.commit_ref,
    config: b.config,
    os: b.os,
    os_version: b.os_version,
    os_arch: b.os_arch,
    params: JSON.parse(b.params) as Record<string, string>,
    testbox: b.testbox,
    state: b.state,
    attempts: b.attempts,
    pkgbuild_job: b.pkgbuild_job == null ? null : Number(b.pkgbuild_job),
    error: b.error ? JSON.parse(b.error) : null,
    created_at: iso(b.created_at)!,
    started_at: iso(b.started_at),
    finished_at: iso(b.finished_at),
    // Only the current job's files count: a failed attempt's leftovers are not the build.
    files: files.filter((f) => f.job_id === Number(b.pkgbuild_job)).map((f) => ({ name: f.name, url: f.path, size: f.size, sha256: f.sha256 })),
    waiting: await countWaiters(db, b.key),
  };
}

export async function buildList(db: Db, f: { state?: string | undefined; pkg?: string | undefined; limit?: number | undefined }): Promise<BuildView[]> {
  return Promise.all((await listBuilds(db, f)).map((b) => view(db, b)));
}

export async function buildDetail(db: Db, key: string): Promise<BuildView> {
  let b = await getBuild(db, key);
  if (!b && /^[0-9a-f]{6,63}$/.test(key)) {
    // A key prefix, as users copy it from paths (<sha>-<key12>).
    const hits = await db.selectFrom('builds').selectAll().where('key', 'like', `${key}%`).limit(2).execute();
    if (hits.length === 1) b = hits[0];
  }
  if (!b) throw new NotFoundError('build', key);
  const v = await view(db, b);
  const jobs = await db.selectFrom('jobs').select(['id', 'stage', 'health']).where('build_key', '=', b.key).orderBy('id').execute();
  v.pkgbuild_jobs = jobs.map((j) => ({ id: Number(j.id), stage: j.stage, health: j.health }));
  v.jobs = (await dependentsOf(db, b.key)).map((d) => ({ job_id: d.job_id, wait: d.state }));
  return v;
}
