// Submit: validate every job of a request, apply the lab's defaults and insert
// them all in one transaction (nothing is submitted if any job is invalid).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { getSubmitKey, setSubmitAnswer, takeSubmitKey, type SubmitKey } from '../store/submit-keys.ts';
import { ConflictError, UserError } from '../errors.ts';
import { clusterRefusal, memoryNeed, RESERVED_ENV, runtimeSeconds, validateJob } from '../jobfile/index.ts';
import { MAX_RUNTIME } from '../jobfile/units.ts';

/** The most memory a job may ask for (what a testbox registers at most, api/contract). */
const MAX_MEMORY_GIB = 1_048_576;
import { tboxType } from '../model/lifecycle.ts';
import { getJob, insertJob, setRootAndPending } from '../store/jobs.ts';
import type { Tx } from '../store/db.ts';
import type { BuildRow } from '../store/builds.ts';
import { resolveStack, type BuildSpec, type StackIssue } from '../stack/resolve.ts';
import { attachBuild } from './builds.ts';
import { takeUploads } from './uploads.ts';
import { accountOf, OPEN, submitAccount, type Caller } from './access.ts';
import { finishInTx } from './finish.ts';
import { addEvents, type NewEvent } from '../store/events.ts';
import { ensureAccount } from '../store/testboxes.ts';
import { signalWork } from './work.ts';
import type { Ctx } from './context.ts';
import { resultRoot, type ResolvedJob } from '../model/job.ts';
import type { DryRun, SubmitIssue, SubmitResult } from '../api/contract.ts';
import { getBuild } from '../store/builds.ts';

function invalidJobs(issues: (SubmitIssue & { forbidden?: boolean })[]): UserError {
  const lines = issues.map((i) => `job ${i.job}${i.path ? ` ${i.path}` : ''}: ${i.message}`);
  const plain = issues.map(({ forbidden: _f, ...i }) => i);
  // A job the lab's policy refuses (an upstream it does not allow) is forbidden, not malformed.
  if (issues.some((i) => i.forbidden)) return new UserError('forbidden', lines.join('\n'), { issues: plain });
  return new UserError('invalid_job', lines.join('\n'), { issues: plain });
}

/** Checks a job object and fills in the lab's defaults; issues are appended, not thrown. */
function resolveJob(ctx: Ctx, raw: unknown, index: number, issues: SubmitIssue[], caller: Caller): ResolvedJob | undefined {
  const schemaIssues = validateJob(raw);
  for (const i of schemaIssues) issues.push({ job: index, path: i.path, message: i.message });
  if (schemaIssues.length > 0) return undefined;
  const job = raw as Record<string, unknown>;
  const d = ctx.config.defaults;
  const suite = job.suite as string;
  if (suite === 'pkgbuild') {
    issues.push({ job: index, path: 'suite', message: 'pkgbuild jobs are created by the scheduler for ss packages; submit a test job with ss instead' });
    return undefined;
  }
  if (!ctx.config.lab.hasSuite(suite)) {
    issues.push({ job: index, path: 'suite', message: `no suite ${suite} in the lab (${ctx.config.lab.suites().join(', ') || 'none'})` });
    return undefined;
  }
  // Names that change how programs and shells start reach neither a suite nor a build.
  const reserved = (k: string) => RESERVED_ENV.test(k);
  const params = job[suite] && typeof job[suite] === 'object' && !Array.isArray(job[suite]) ? Object.keys(job[suite] as object) : [];
  const ssParams = Object.entries((job.ss ?? {}) as Record<string, Record<string, unknown> | null>).flatMap(([pkg, e]) => Object.keys(e ?? {}).map((k) => [`ss.${pkg}.${k}`, k] as const));
  const bad = [...Object.keys(job).map((k) => [k, k] as const), ...params.map((k) => [`${suite}.${k}`, k] as const), ...ssParams].filter(([, k]) => reserved(k));
  for (const [path, k] of bad) issues.push({ job: index, path, message: `${k} is a reserved environment name (the loader's, the shell's, PATH…): a job cannot set it` });
  if (bad.length > 0) return undefined;
  const cluster = clusterRefusal(job);
  if (cluster) {
    issues.push({ job: index, path: Object.keys(job).find((k) => k === 'cluster' || k.startsWith('if role')) ?? 'cluster', message: cluster });
    return undefined;
  }
  // lkp's values, stacklab's meaning: runtime 300s/1h is seconds; need_memory 8G and memory_minimum, the larger.
  const runtime = runtimeSeconds(job) ?? d.runtime;
  if (!(runtime >= 1 && runtime <= MAX_RUNTIME)) {
    issues.push({ job: index, path: 'runtime', message: `a runtime of ${runtime} s is outside 1..${MAX_RUNTIME} s` });
    return undefined;
  }
  const memory = memoryNeed(job).gib ?? d.memory_minimum;
  if (!(memory > 0 && memory <= MAX_MEMORY_GIB)) {
    issues.push({ job: index, path: job.need_memory !== undefined ? 'need_memory' : 'memory_minimum', message: `${memory} GiB is outside what a testbox can offer (at most ${MAX_MEMORY_GIB})` });
    return undefined;
  }
  return {
    ...job,
    suite,
    testbox: (job.testbox as string | undefined) ?? d.testbox,
    os: (job.os as string | undefined) ?? d.os,
    os_version: (job.os_version as string | undefined) ?? d.os_version,
    os_arch: (job.os_arch as string | undefined) ?? d.os_arch,
    memory_minimum: memory,
    runtime,
    priority: (job.priority as number | undefined) ?? d.priority,
    my_account: submitAccount(caller, job.my_account, d.my_account),
  };
}

/** Jobs checked and resolved, ready for insertInTx: every ss commit is a full sha and every build key taken. */
export interface PreparedJobs {
  jobs: ResolvedJob[];
  stacks: BuildSpec[][];
}

/**
 * Everything a submit does before its transaction: check each job, apply
 * the lab's defaults, and resolve its ss packages (registry, commit → sha,
 * digests, snapshots, build keys). Throws invalidJobs with every issue.
 */
export async function prepareJobs(ctx: Ctx, raws: unknown[], caller: Caller = OPEN): Promise<PreparedJobs> {
  accountOf(caller); // a testbox's or a job's token submits nothing
  if (raws.length === 0) throw new UserError('invalid_job', 'no jobs to submit');
  if (raws.length > ctx.config.limits.maxJobsPerSubmit) {
    throw new UserError('too_many_jobs', `${raws.length} jobs in one submit; the limit is ${ctx.config.limits.maxJobsPerSubmit}`);
  }
  const issues: SubmitIssue[] = [];
  const snapshots = join(ctx.config.dataDir, 'snapshots');
  const taken = raws.map((raw, i) => takeUploads(snapshots, raw, i, issues));
  const jobs = taken.map((t, i) => resolveJob(ctx, t.job, i, issues, caller));
  if (issues.length > 0) throw invalidJobs(issues);
  // ss steps 1–3 (registry, commit → sha, build key) need git and files: done before the transaction opens.
  const stacks: BuildSpec[][] = [];
  for (const [i, job] of (jobs as ResolvedJob[]).entries()) {
    const found: StackIssue[] = [];
    const sc = { lab: ctx.config.lab, git: ctx.git, snapshots, uploads: taken[i]!.uploads, accounts: ctx.config.accounts, account: (jobs[i] as ResolvedJob).my_account };
    stacks.push(job.ss ? await resolveStack(sc, job, found) : []);
    for (const f of found) issues.push({ job: i, ...f });
  }
  if (issues.length > 0) throw invalidJobs(issues);
  return { jobs: jobs as ResolvedJob[], stacks };
}

/** Inserts prepared jobs with their builds and waits inside the caller's transaction; signals dispatch at commit. */
export async function insertInTx(ctx: Ctx, t: Tx, p: PreparedJobs): Promise<SubmitResult[]> {
  const now = ctx.now();
  const out: SubmitResult[] = [];
  const ready: { tbox_type: string; arch: string }[] = [];
  for (const [i, job] of p.jobs.entries()) {
    const r = await insertSubmitted(ctx, t, job, p.stacks[i]!, now);
    out.push({ job_id: r.job_id, result_root: r.result_root });
    if (r.dispatchable) ready.push({ tbox_type: tboxType(job.testbox), arch: job.os_arch });
  }
  signalWork(t, ready);
  t.after(() => ctx.metrics.submitted.inc({ kind: 'test' }, out.length));
  return out;
}

/** What a submit of these jobs would make, from the store as it is now; nothing is written but snapshots. */
export async function dryRun(ctx: Ctx, raws: unknown[], caller: Caller = OPEN): Promise<DryRun> {
  const p = await prepareJobs(ctx, raws, caller);
  const ttl = ctx.config.lab.policy.failed_build_ttl * 1000;
  const now = ctx.now();
  const out: DryRun = [];
  for (const [i, job] of p.jobs.entries()) {
    const builds = [];
    for (const s of p.stacks[i]!) {
      const b = await getBuild(ctx.store.db, s.key);
      const would =
        !b || b.state === 'cancelled' || (b.state === 'failed' && now - Number(b.finished_at ?? 0) >= ttl) ? 'build' : b.state === 'succeeded' ? 'reuse' : b.state === 'failed' ? 'fail' : 'wait';
      const { key, salt: _salt, recipe_sha256: _r, fork: _f, ...rest } = s;
      builds.push({ ...rest, build_key: key, would } as DryRun[number]['builds'][number]);
    }
    out.push({ job, builds });
  }
  return out;
}

/**
 * Submits the jobs, all or none. With an idempotency key, a submit that
 * already went through with that key is answered again (nothing is
 * submitted twice when a client retries after a lost answer).
 */
export async function submitJobs(ctx: Ctx, raws: unknown[], caller: Caller = OPEN, key?: string): Promise<SubmitResult[]> {
  const account = caller.kind === 'account' ? caller.name : '';
  const digest = key === undefined ? '' : createHash('sha256').update(JSON.stringify(raws)).digest('hex');
  const again = (prior: SubmitKey | undefined): SubmitResult[] | undefined => {
    if (!prior) return undefined;
    if (prior.request !== digest) throw new UserError('idempotency_conflict', `Idempotency-Key ${key} was used for another request`, { key });
    return prior.response ?? undefined;
  };
  if (key !== undefined) {
    const done = again(await getSubmitKey(ctx.store.db, account, key));
    if (done) return done;
  }
  const prepared = await prepareJobs(ctx, raws, caller);
  return ctx.store.tx(async (t) => {
    if (key !== undefined && !(await takeSubmitKey(t.db, account, key, digest, ctx.now()))) {
      const done = again(await getSubmitKey(t.db, account, key));
      if (done) return done;
      throw new ConflictError(`a submit with Idempotency-Key ${key} is still in progress`, { key });
    }
    const out = await insertInTx(ctx, t, prepared);
    if (key !== undefined) await setSubmitAnswer(t.db, account, key, out);
    return out;
  });
}

/** Accounts each store is known to hold (added after the commit that inserted them): one insert fewer per submit. */
const knownAccounts = new WeakMap<object, Set<string>>();

/** One job and its builds, inside the submit transaction (SPEC §4 steps 4–7). */
async function insertSubmitted(ctx: Ctx, t: Tx, job: ResolvedJob, specs: BuildSpec[], now: number): Promise<SubmitResult & { dispatchable: boolean }> {
  const known = knownAccounts.get(ctx.store) ?? knownAccounts.set(ctx.store, new Set()).get(ctx.store)!;
  if (!known.has(job.my_account)) {
    await ensureAccount(t.db, job.my_account);
    t.after(() => known.add(job.my_account));
  }
  const id = await insertJob(t.db, {
    account: job.my_account,
    suite: job.suite,
    testbox: job.testbox,
    tbox_type: tboxType(job.testbox),
    arch: job.os_arch,
    os: job.os,
    os_version: job.os_version,
    memory_minimum: job.memory_minimum,
    priority: job.priority,
    runtime: job.runtime,
    stage: 'submit',
    deps_pending: 0,
    submit_time: now,
    result_root: '',
    spec: job,
  });
  const root = resultRoot(job, id, now);
  const events: NewEvent[] = [{ kind: 'submit' }];
  const requester = { account: job.my_account, priority: job.priority };
  let waits = 0;
  let failed: BuildRow | undefined;
  for (const spec of specs) {
    const a = await attachBuild(ctx, t, id, spec, requester, now);
    if (a.kind === 'wait') {
      waits++;
      events.push({ kind: 'wait', detail: { pkg: spec.pkg, build_key: spec.key, pkgbuild_job: a.build.pkgbuild_job, new_build: a.created } });
    } else if (a.kind === 'reuse') {
      events.push({ kind: 'reuse', detail: { pkg: spec.pkg, build_key: spec.key } });
    } else failed ??= a.build;
  }
  await setRootAndPending(t.db, id, root, waits);
  await addEvents(t.db, id, now, events);
  if (failed) {
    // A build that failed recently is remembered: the job fails now instead of waiting for a build that will fail again.
    const row = (await getJob(t.db, id))!;
    const failure = failed.error ?? { pkg: failed.pkg, build_key: failed.key, pkgbuild_job: failed.pkgbuild_job, health: 'failed', log: null };
    await finishInTx(ctx, t, row, { health: 'dependency_failed', from: ['submit'], depFailure: { ...failure, cached: true }, detail: { dep_failure: failure } });
  }
  return { job_id: id, result_root: root, dispatchable: waits === 0 && !failed };
}
