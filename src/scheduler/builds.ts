// The ss side of submit (SPEC §4 steps 4–7), inside the submit transaction:
// reuse a verified build, wait on one in flight, or create the build and its
// pkgbuild job. The build table's primary key makes this single-flight even
// when many submits race.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { tboxType } from '../model/lifecycle.ts';
import { resultRoot, type ResolvedJob } from '../model/job.ts';
import type { PkgbuildSpec } from '../api/contract.ts';
import { insertJob, setResultRoot } from '../store/jobs.ts';
import { addEvent } from '../store/events.ts';
import { addDep, buildFiles, getBuild, getBuildForUpdate, insertBuildIfAbsent, requeueBuild, setBuildJob, type BuildRow } from '../store/builds.ts';
import type { Tx } from '../store/db.ts';
import type { BuildSpec } from '../stack/resolve.ts';
import type { Ctx } from './context.ts';
import { signalWork } from './work.ts';

/** Every file of a succeeded build is still where the server stored it, with its size. */
async function filesOnDisk(ctx: Ctx, t: Tx, b: BuildRow): Promise<boolean> {
  const files = (await buildFiles(t.db, [b.key])).filter((f) => f.job_id === Number(b.pkgbuild_job));
  if (files.length === 0) return false;
  return files.every((f) => {
    try {
      return statSync(join(ctx.config.srvDir, f.path)).size === f.size;
    } catch {
      return false;
    }
  });
}

/** Who asked for a build: its pkgbuild job inherits their account and priority. */
export interface Requester {
  account: string;
  priority: number;
}

/** The pkgbuild job's own fields: what the runner on the testbox needs. */
function pkgbuildSpec(ctx: Ctx, b: BuildRow, req: Requester): ResolvedJob {
  const policy = ctx.config.lab.policy;
  return {
    suite: 'pkgbuild',
    testbox: b.testbox,
    os: b.os,
    os_version: b.os_version,
    os_arch: b.os_arch,
    memory_minimum: policy.build_memory,
    runtime: policy.build_runtime,
    priority: req.priority,
    my_account: req.account,
    pkgbuild: {
      pkg: b.pkg,
      fork: b.fork,
      upstream_url: b.upstream_url,
      ...(ctx.config.lab.fetchUrl(b.upstream_url) !== b.upstream_url ? { fetch_url: ctx.config.lab.fetchUrl(b.upstream_url) } : {}),
      commit: b.commit,
      commit_ref: b.commit_ref,
      config: b.config,
      config_sha256: b.config_sha256,
      recipe: b.recipe,
      recipe_sha256: b.recipe_sha256,
      params: b.params,
      build_key: b.key,
    } satisfies PkgbuildSpec,
  };
}

/** Creates the next pkgbuild job of a queued build and points the build at it. */
export async function createPkgbuildJob(ctx: Ctx, t: Tx, b: BuildRow, req: Requester, now: number): Promise<number> {
  const spec = pkgbuildSpec(ctx, b, req);
  // A recipe the lab says cross-compiles runs on boxes of its build arch; any other on boxes of the target's.
  const cross = ctx.config.lab.policy.cross_builds;
  const arch = (Object.hasOwn(cross, b.pkg) && Object.hasOwn(cross[b.pkg]!, b.os_arch) ? cross[b.pkg]![b.os_arch] : undefined) ?? b.os_arch;
  const id = await insertJob(t.db, {
    account: req.account,
    suite: 'pkgbuild',
    testbox: b.testbox,
    tbox_type: tboxType(b.testbox),
    arch,
    os: b.os,
    os_version: b.os_version,
    memory_minimum: spec.memory_minimum,
    priority: req.priority,
    runtime: spec.runtime,
    stage: 'submit',
    deps_pending: 0,
    submit_time: now,
    result_root: '',
    spec,
    build_key: b.key,
  });
  await setResultRoot(t.db, id, resultRoot(spec, id, now));
  await setBuildJob(t.db, b.key, id);
  signalWork(t, [{ tbox_type: tboxType(b.testbox), arch }]);
  await addEvent(t.db, id, 'submit', now, { build_key: b.key, pkg: b.pkg, attempt: b.attempts + 1 });
  t.after(() => ctx.metrics.submitted.inc({ kind: 'pkgbuild' }));
  return id;
}

type Attachment =
  | { kind: 'reuse'; build: BuildRow }
  | { kind: 'wait'; build: BuildRow; created: boolean }
  | { kind: 'failed'; build: BuildRow };

/**
 * Attaches one build to a job being submitted: records the dep and says
 * whether the job must wait. Inside the submit transaction.
 */
export async function attachBuild(ctx: Ctx, t: Tx, jobId: number, spec: BuildSpec, req: Requester, now: number): Promise<Attachment> {
  const inserted = await insertBuildIfAbsent(t.db, {
    key: spec.key,
    pkg: spec.pkg,
    fork: spec.fork,
    upstream_url: spec.upstream_url,
    commit: spec.commit,
    commit_ref: spec.commit_ref,
    config: spec.config,
    config_sha256: spec.config_sha256,
    os: spec.os,
    os_version: spec.os_version,
    os_arch: spec.os_arch,
    recipe: spec.recipe,
    recipe_sha256: spec.recipe_sha256,
    params: spec.params,
    testbox: spec.testbox,
    state: 'queued',
    attempts: 0,
    created_at: now,
  });
  let build = (await getBuildForUpdate(t, spec.key))!;
  let created = inserted;
  if (!inserted) {
    const ttl = ctx.config.lab.policy.failed_build_ttl * 1000;
    const forgotten =
      build.state === 'cancelled' ||
      (build.state === 'failed' && now - Number(build.finished_at ?? 0) >= ttl) ||
      // A cached build whose files are gone from disk (cleaned up, lost) is built again, not handed out to 404.
      (build.state === 'succeeded' && !(await filesOnDisk(ctx, t, build)));
    if (forgotten && (await requeueBuild(t.db, spec.key, [build.state], now, spec.testbox))) {
      created = true;
      build = (await getBuild(t.db, spec.key))!;
    }
  }
  if (created) {
    await createPkgbuildJob(ctx, t, build, req, now);
    build = (await getBuild(t.db, spec.key))!;
  }
  const outcome = created ? 'new' : build.state === 'succeeded' ? 'reused' : build.state === 'failed' ? 'failed' : 'joined';
  t.after(() => ctx.metrics.buildsRequested.inc({ outcome }));
  if (build.state === 'succeeded') {
    await addDep(t.db, { job_id: jobId, build_key: spec.key, pkg: spec.pkg, state: 'done' });
    return { kind: 'reuse', build };
  }
  if (build.state === 'failed') {
    await addDep(t.db, { job_id: jobId, build_key: spec.key, pkg: spec.pkg, state: 'failed' });
    return { kind: 'failed', build };
  }
  await addDep(t.db, { job_id: jobId, build_key: spec.key, pkg: spec.pkg, state: 'waiting' });
  return { kind: 'wait', build, created };
}
