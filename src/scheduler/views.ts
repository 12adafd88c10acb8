// The job as the API and the CLI show it (SPEC §8; its shape is api/contract's
// Job): the submitted fields, the lifecycle fields, results and the timeline.
import type { JobRow } from '../store/jobs.ts';
import type { EventRow } from '../store/events.ts';
import type { BuildFileRow, BuildRow, DepRow } from '../store/builds.ts';
import type { ArtifactRef, Job, TimelineEntry } from '../api/contract.ts';

/** One ss dependency of a job, as stored: the wait, its build and the build's files. */
export interface DepInfo {
  dep: DepRow;
  build: BuildRow;
  files: BuildFileRow[];
}

/** compass-ci's ss_wait_jobs value for a build: unknown until it ends, then its job health. */
function waitStatus(b: BuildRow): string {
  if (b.state === 'succeeded') return 'success';
  if (b.state === 'queued' || b.state === 'building') return 'unknown';
  return b.error?.health ?? (b.state === 'cancelled' ? 'cancel' : 'failed');
}

/** Files of the builds a job may use: only builds that succeeded and that it was released on. */
export function usableArtifacts(deps: DepInfo[]): ArtifactRef[] {
  const out: ArtifactRef[] = [];
  for (const d of deps) {
    if (d.dep.state !== 'done' || d.build.state !== 'succeeded') continue;
    for (const f of d.files) out.push({ pkg: d.dep.pkg, build_key: d.build.key, name: f.name, url: f.path, size: f.size, sha256: f.sha256 });
  }
  return out;
}

export const iso = (ms: number | null): string | null => (ms == null ? null : new Date(Number(ms)).toISOString());

export const jobCgzPath = (id: number): string => `/job_initrd_tmpfs/${id}/job.cgz`;

export function timeline(events: EventRow[]): TimelineEntry[] {
  return events.map((e) => ({ ...(e.detail ?? {}), time: iso(e.time)!, event: e.kind }));
}

export function jobDetail(row: JobRow, events?: EventRow[], deps: DepInfo[] = []): Job {
  const id = row.id;
  const view: Job = {
    ...row.spec,
    id,
    suite: row.suite,
    job_stage: row.stage,
    job_health: row.health,
    waiting: row.stage === 'submit' && row.deps_pending > 0,
    testbox: row.testbox,
    testbox_host: row.assigned,
    result_root: row.result_root,
    submit_time: iso(row.submit_time)!,
    boot_time: iso(row.boot_time),
    running_time: iso(row.running_time),
    finish_time: iso(row.finish_time),
    deadline: iso(row.deadline),
    stats: row.stats,
    deps: deps.map((d) => ({
      pkg: d.dep.pkg,
      build_key: d.build.key,
      wait: d.dep.state,
      build_state: d.build.state,
      pkgbuild_job: d.build.pkgbuild_job,
      commit: d.build.commit,
      commit_ref: d.build.commit_ref,
      config: d.build.config,
    })),
    ss_wait_jobs: {},
    dep_failure: row.dep_failure,
    initrds: [jobCgzPath(id)],
    kernel_uri: null,
    modules_uri: null,
  };
  for (const d of deps) if (d.build.pkgbuild_job != null) view.ss_wait_jobs[String(d.build.pkgbuild_job)] = waitStatus(d.build);
  // A kernel is named only once it exists: never a URI to something not built (docs/COMPASS-CI.md #1).
  for (const a of usableArtifacts(deps)) {
    if (a.name === 'pkg.cgz') view.initrds.push(a.url);
    else if (a.name === 'vmlinuz') view.kernel_uri = a.url;
    else if (a.name === 'modules.cgz') view.modules_uri = [a.url];
  }
  if (row.build_key) view.build_key = row.build_key;
  if (events) view.timeline = timeline(events);
  return view;
}
