// Starting a lab bisect (SPEC §7): the request checked, the job as it would
// run at the bad commit prepared through the normal submit path (which finds
// the package's upstream and checks the job whole), good and bad resolved
// against the upstream's mirror, the candidate graph taken from
// `git rev-list --parents`, and the bisect stored, ready to be driven.
import { createBisect } from '../../bisect/engine.ts';
import { parseRevList } from '../../bisect/dag.ts';
import type { BisectSpec, Criterion, Dag } from '../../bisect/types.ts';
import type { BisectRequest } from '../../api/contract.ts';
import { UserError } from '../../errors.ts';
import { loadJobText } from '../../jobfile/index.ts';
import { git } from '../../stack/git.ts';
import { insertBisect, type StoredBisectRequest } from '../../store/bisects.ts';
import type { Ctx } from '../context.ts';
import { prepareJobs } from '../submit.ts';
import { OPEN, submitAccount, type Caller } from '../access.ts';

export const bisectChannel = (id: number): string => `bisect:${id}`;

/** Checks and stores a new bisect; returns its id. */
export async function startBisect(ctx: Ctx, req: BisectRequest, caller: Caller = OPEN): Promise<number> {
  // The bisect and every probe it submits belong to the account that started it.
  const job = oneJob(req.job);
  const account = submitAccount(caller, job.my_account, ctx.config.defaults.my_account);
  const template: Record<string, unknown> = { ...job, my_account: account };
  const ss = template.ss as Record<string, Record<string, string> | null> | undefined;
  if (!ss || !(req.pkg in ss)) throw new UserError('bad_bisect', `the job has no ss.${req.pkg}: a lab bisect moves ss.${req.pkg}.commit`, { path: `ss.${req.pkg}` });
  const goods = (Array.isArray(req.good) ? req.good : [req.good]).map(String);
  if (goods.length === 0) throw new UserError('bad_bisect', 'at least one good commit is needed');
  const criterion: Criterion = req.criterion ?? (req.metric ? 'perf' : 'function');
  // The job as it would be submitted at the bad commit: checks it whole and finds the upstream.
  const prepared = await prepareJobs(ctx, [withCommit(template, req.pkg, req.bad)], caller);
  const build = prepared.stacks[0]!.find((b) => b.pkg === req.pkg)!;
  const url = build.upstream_url;
  const bad = build.commit;
  const good = await Promise.all(goods.map((g) => ctx.git.resolve(url, g)));
  if (good.includes(bad)) throw new UserError('bad_bisect', 'the bad commit is also given as good');
  const mirror = await ctx.git.ready(url);
  const revList = await git(['rev-list', '--parents', ...(req.first_parent ? ['--first-parent'] : []), bad, ...good.map((g) => `^${g}`), '--'], { cwd: mirror });
  if (revList.trim() === '') throw new UserError('bad_bisect', `${req.bad} is an ancestor of a good commit: nothing to bisect`);
  const dag: Dag = parseRevList(revList, { bad, good, firstParent: req.first_parent ?? false });
  const spec: BisectSpec = { criterion };
  if (criterion === 'perf') {
    if (!req.metric || !req.direction) throw new UserError('bad_bisect', 'perf bisection needs a metric (suite.key) and a direction (lower or higher is better)');
    spec.metric = req.metric;
    spec.direction = req.direction;
  }
  if (req.repeat !== undefined) spec.repeat = req.repeat;
  if (req.max_runs !== undefined) spec.maxRuns = req.max_runs;
  Object.assign(spec, ruleOptions(req, criterion));
  try {
    createBisect(dag, spec);
  } catch (err) {
    throw err instanceof RangeError ? new UserError('bad_bisect', err.message) : err;
  }
  const { direction, ...rest } = req;
  const stored: StoredBisectRequest = { ...rest, ...(direction ? { direction } : {}), job: template, criterion, good, good_refs: goods, bad_ref: req.bad, bad };
  const id = await insertBisect(ctx.store.db, { pkg: req.pkg, criterion, request: stored, upstream_url: url, dag, spec, now: ctx.now(), account });
  ctx.log.info({ bisect: id, pkg: req.pkg, criterion, candidates: dag.commits.length }, 'bisect started');
  return id;
}

/**
 * The pass/fail rule's options (build, function) or perf's, checked against
 * the criterion as `bisect run` checks its flags. A build is made once per
 * commit and then comes from the cache, so its runs cannot be repeated
 * independently: the build criterion is always deterministic in the lab.
 */
function ruleOptions(req: BisectRequest, criterion: Criterion): Partial<BisectSpec> {
  const spec: Partial<BisectSpec> = {};
  const passFail = ['confidence', 'budget', 'false_positives', 'deterministic'] as const;
  if (criterion === 'perf') {
    const given = passFail.filter((k) => req[k] !== undefined);
    if (given.length > 0) throw new UserError('bad_bisect', `${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} for pass/fail criteria (build, function), not perf`, { fields: given });
    if (req.interleave_ends) spec.interleaveEnds = true;
    return spec;
  }
  if (req.interleave_ends !== undefined) throw new UserError('bad_bisect', 'interleave_ends is for the perf criterion');
  if (criterion === 'build' && (req.deterministic === false || req.false_positives)) {
    throw new UserError('bad_bisect', 'a build bisect in the lab is deterministic: each commit is built once and its outcome cached, so a build cannot be re-run to see whether it fails only sometimes');
  }
  if (req.confidence !== undefined) spec.confidence = req.confidence;
  if (req.budget !== undefined) spec.budget = req.budget;
  if (req.false_positives) spec.falsePositives = true;
  if (req.deterministic !== undefined) spec.deterministic = req.deterministic;
  return spec;
}

/** The one job of a request body: an object, or YAML that expands to exactly one job. */
function oneJob(job: unknown): Record<string, unknown> {
  if (typeof job === 'string') {
    const loaded = loadJobText(job, 'job').jobs;
    if (loaded.length !== 1) throw new UserError('bad_bisect', `the job file expands to ${loaded.length} jobs; a bisect needs exactly one`);
    return loaded[0]!;
  }
  if (!job || typeof job !== 'object' || Array.isArray(job)) throw new UserError('bad_bisect', 'job must be one job object (or its YAML)');
  return job as Record<string, unknown>;
}

/** The job with ss.<pkg>.commit set (and, for probes, labelled with its bisect). */
export function withCommit(job: Record<string, unknown>, pkg: string, commit: string, bisect?: number): Record<string, unknown> {
  const ss = structuredClone(job.ss) as Record<string, Record<string, string> | null>;
  ss[pkg] = { ...(ss[pkg] ?? {}), commit };
  const labels = bisect === undefined ? job.labels : { ...((job.labels as object) ?? {}), bisect };
  return { ...job, ss, ...(labels === undefined ? {} : { labels }) };
}
