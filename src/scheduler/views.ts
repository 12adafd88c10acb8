// The job as the API and the CLI show it (SPEC §8; its shape is api/contract's
// Job): the submitted fields, the lifecycle fields, results and the timeline.
import type { JobRow } from '../store/jobs.ts';
import type { EventRow } from '../store/events.ts';
import type { BuildFileRow, BuildRow, DepRow } from '../store/builds.ts';
import type { ArtifactRef, Job, TimelineEntry, WaitReason } from '../api/contract.ts';
import { eligible, type BoxView, type JobView } from '../model/match.ts';

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
    wait_reason: null,
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

/** A registered testbox as the wait reasons see it. */
export interface WaitBox {
  hostname: string;
  type: string;
  arch: string;
  max_memory: number;
  /** GiB its jobs take now. */
  used: number;
  /** It heartbeats (within testbox_lost_after). */
  live: boolean;
  /** Why it is out of dispatch, or null. */
  disabled_reason: string | null;
}

export interface WaitFacts {
  boxes: WaitBox[];
  /** Stage and testbox of each pkgbuild job the job's builds are made by (when known). */
  pkgbuildJobs?: ReadonlyMap<number, { stage: string; assigned: string | null; testbox: string; placeable: boolean }>;
  /** Its place in the queue (when asked for: it costs a query). */
  position?: number;
  /** When it finishes unrunnable if still no box can take it (no_testbox). */
  timeoutAt?: number;
}

const gib = (n: number) => `${Number(n.toFixed(2))} GiB`;

function asJobView(row: JobRow): JobView {
  return { id: row.id, account: row.account, tbox_type: row.tbox_type, arch: row.arch, memory_minimum: Number(row.memory_minimum), priority: row.priority, pinned_host: row.pinned_host };
}

/** The box as the dispatch rule sees it: with all its memory (could it ever take the job?) or with what is free now. */
function asBoxView(b: WaitBox, now: boolean): BoxView {
  return { hostname: b.hostname, type: b.type, arch: b.arch, freeMemory: now ? b.max_memory - b.used : b.max_memory };
}

/** The registered testboxes that could ever take the job: model/match's rule with each box empty, the pin aside. */
export function boxesFor(row: JobRow, boxes: readonly WaitBox[]): WaitBox[] {
  const job = { ...asJobView(row), pinned_host: null };
  return boxes.filter((b) => eligible(job, asBoxView(b, false)));
}

function buildReason(row: JobRow, deps: DepInfo[], facts: WaitFacts): WaitReason {
  const pending = deps.filter((d) => d.dep.state === 'waiting');
  const parts = pending.map((d) => {
    const j = d.build.pkgbuild_job;
    const pj = j == null ? undefined : facts.pkgbuildJobs?.get(j);
    const where = pj ? ` (${pj.stage}${pj.assigned ? ` on ${pj.assigned}` : ''}${pj.placeable ? '' : `; no registered testbox can take it: testbox ${pj.testbox}`})` : '';
    return `build ${d.build.key.slice(0, 12)} of ${d.dep.pkg} ${d.build.state}${j == null ? '' : `, pkgbuild job ${j}${where}`}`;
  });
  const message = parts.length > 0 ? `waiting on ${parts.join('; ')}` : `waiting on ${row.deps_pending} build(s)`;
  return { kind: 'build', message, ...(pending[0] ? { build_key: pending[0].build.key } : {}) };
}

function boxState(b: WaitBox): string {
  if (b.disabled_reason != null) return `out of dispatch: ${b.disabled_reason}`;
  if (!b.live) return 'lost (no heartbeat)';
  return b.used > 0 ? `busy (${gib(b.used)} of ${gib(b.max_memory)} taken)` : 'idle';
}

/**
 * Why a queued job has not started (null once it has): the builds it waits
 * on, no registered testbox that could take it, the box it is pinned to,
 * matching boxes that are lost or out of dispatch, or matching boxes all
 * busy and its place in the queue. The match is model/match's `eligible`.
 */
export function waitReason(row: JobRow, deps: DepInfo[], facts: WaitFacts): WaitReason | null {
  if (row.stage !== 'submit') return null;
  if (row.deps_pending > 0) return buildReason(row, deps, facts);
  const matching = boxesFor(row, facts.boxes);
  const position = facts.position === undefined ? {} : { position: facts.position };
  if (matching.length === 0) {
    const types = [...new Set(facts.boxes.map((b) => `${b.type}/${b.arch} ${gib(b.max_memory)}`))];
    const when = facts.timeoutAt === undefined ? '' : `; it finishes unrunnable at ${new Date(facts.timeoutAt).toISOString()} unless one registers`;
    return {
      kind: 'no_testbox',
      message: `no registered testbox can take it: testbox ${row.testbox} needs a ${row.tbox_type} box of arch ${row.arch} with ${gib(Number(row.memory_minimum))}; registered: ${types.join(', ') || 'none'}${when}`,
      matching: 0,
      ...(facts.timeoutAt === undefined ? {} : { timeout_at: iso(facts.timeoutAt)! }),
    };
  }
  if (row.pinned_host != null) {
    const box = facts.boxes.find((b) => b.hostname === row.pinned_host);
    const what = row.health_check === 1 ? `a health check of testbox ${row.pinned_host} (it runs there even out of dispatch)` : `pinned to testbox ${row.pinned_host}`;
    return { kind: 'pinned', message: `${what}, ${box ? boxState(box) : 'not registered'}`, matching: matching.length, ...position };
  }
  const usable = matching.filter((b) => b.live && b.disabled_reason == null);
  if (usable.length === 0) {
    const why = matching.map((b) => `${b.hostname} ${boxState(b)}`);
    return { kind: 'unhealthy', message: `${matching.length} testbox(es) match, none takes jobs: ${why.join('; ')}`, matching: matching.length };
  }
  const job = asJobView(row);
  const free = usable.filter((b) => eligible(job, asBoxView(b, true))).length;
  const place = facts.position === undefined ? '' : `; position ${facts.position} in the queue`;
  const message = free > 0 ? `${usable.length} testbox(es) match, ${free} with room for it now: about to be dispatched${place}` : `${usable.length} testbox(es) match, all busy${place}`;
  return { kind: 'busy', message, matching: matching.length, ...position };
}
