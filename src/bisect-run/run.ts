// `stacklab bisect run`: the local driver of the bisect engine. It resolves
// the refs, builds the candidate graph with git rev-list, and then plays
// rounds: the engine names the probes, the driver runs the command for them
// in K worktrees at once and reports every run back.
import { FailureError, UserError } from '../errors.ts';
import { parseRevList } from '../bisect/dag.ts';
import { createBisect, next, record, status, type Status } from '../bisect/engine.ts';
import type { BisectResult, BisectSpec, Direction, Observation, ProbeRequest } from '../bisect/types.ts';
import { readExit, readMetric, runCommand } from './command.ts';
import { checkRepo, resolveCommit, revList, subjects } from './git.ts';
import { openWorktrees, type Worktree } from './worktrees.ts';

export interface BisectRunOptions {
  repo: string;
  good: string[];
  bad: string;
  command: string[];
  jobs?: number;
  metric?: string;
  direction?: Direction;
  repeat?: number;
  maxRuns?: number;
  firstParent?: boolean;
  confirm?: boolean;
  signal?: AbortSignal;
  onRound?: (round: number, probes: ProbeRequest[], st: Status) => void;
  onRun?: (sha: string, obs: Observation[], done: number, total: number) => void;
}

export interface BisectRunOutcome {
  result: BisectResult;
  /** Subject lines of the commits the result names. */
  subjects: Map<string, string>;
  spec: BisectSpec;
}

export async function bisectRun(o: BisectRunOptions): Promise<BisectRunOutcome> {
  const jobs = o.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new UserError('bad_jobs', '-j must be a positive integer');
  if (o.command.length === 0) throw new UserError('bad_command', 'no command given (put it after --)');
  if (o.good.length === 0) throw new UserError('bad_ref', 'at least one --good commit is needed');
  if ((o.metric === undefined) !== (o.direction === undefined)) throw new UserError('bad_metric', '--metric and --direction go together');
  const spec: BisectSpec = o.metric !== undefined ? { criterion: 'perf', metric: o.metric, direction: o.direction } : { criterion: 'function' };
  if (o.repeat !== undefined) spec.repeat = o.repeat;
  if (o.maxRuns !== undefined) spec.maxRuns = o.maxRuns;
  if (o.confirm === false) spec.confirm = false;

  await checkRepo(o.repo);
  const bad = await resolveCommit(o.repo, o.bad);
  const good = await Promise.all(o.good.map((g) => resolveCommit(o.repo, g)));
  if (good.includes(bad)) throw new UserError('bad_ref', 'the bad commit is also given as good');
  const text = await revList(o.repo, bad, good, o.firstParent ?? false);
  if (text.trim() === '') throw new UserError('bad_ref', `${o.bad} is an ancestor of a good commit: nothing to bisect`);
  let state;
  try {
    state = createBisect(parseRevList(text, { bad, good, firstParent: o.firstParent ?? false }), spec);
  } catch (err) {
    throw err instanceof RangeError ? new UserError('bad_input', err.message) : err;
  }

  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const pool = await openWorktrees(o.repo, jobs, bad);
  try {
    for (;;) {
      if (abort.signal.aborted) throw new FailureError('bisect interrupted');
      const step = next(state, jobs);
      if ('done' in step) {
        const names = [step.done.first_bad, step.done.parent, ...(step.done.candidates ?? [])].filter((s): s is string => s !== null);
        return { result: step.done, subjects: await subjects(o.repo, names), spec };
      }
      const probes = 'probes' in step ? step.probes : step.wait;
      o.onRound?.(status(state).rounds, probes, status(state));
      await playRound(probes, pool.trees, (t, sha) => pool.checkout(t, sha), o, abort, (sha, obs) => {
        for (const x of obs) record(state, sha, x);
      });
    }
  } finally {
    o.signal?.removeEventListener('abort', onOuterAbort);
    abort.abort();
    await pool.close();
  }
}

/** Run every requested run, K at a time; a worktree keeps the commit it has when it can. */
async function playRound(
  probes: ProbeRequest[],
  trees: Worktree[],
  checkout: (t: Worktree, sha: string) => Promise<void>,
  o: BisectRunOptions,
  abort: AbortController,
  report: (sha: string, obs: Observation[]) => void,
): Promise<void> {
  const queue = probes.flatMap((p) => Array.from({ length: p.runs }, () => p.sha));
  const total = queue.length;
  let done = 0;
  let failure: unknown = null;
  const worker = async (tree: Worktree): Promise<void> => {
    while (queue.length > 0 && failure === null && !abort.signal.aborted) {
      const mine = queue.indexOf(tree.at ?? '');
      const sha = queue.splice(mine >= 0 ? mine : 0, 1)[0]!;
      try {
        await checkout(tree, sha);
        const obs = await runOnce(sha, tree.dir, o, abort.signal);
        if (abort.signal.aborted) return;
        report(sha, obs);
        done++;
        o.onRun?.(sha, obs, done, total);
      } catch (err) {
        failure ??= err;
        abort.abort();
      }
    }
  };
  await Promise.all(trees.map(worker));
  if (failure !== null) throw failure;
}

async function runOnce(sha: string, cwd: string, o: BisectRunOptions, signal: AbortSignal): Promise<Observation[]> {
  const run = await runCommand(o.command, cwd, signal);
  if (signal.aborted) return [];
  const v = readExit(run);
  if (v.kind === 'abort') {
    const tail = run.stderrTail.trim().split('\n').slice(-5).join('\n');
    throw new FailureError(`the command ${v.why} on ${sha}: bisect aborted${tail ? `\n${tail}` : ''}`);
  }
  if (o.metric === undefined) return [{ outcome: v.kind }];
  // perf: a failed run, or one without the metric, cannot measure this commit
  if (v.kind !== 'good') return [{ outcome: 'skip' }];
  const values = readMetric(run.stdout, o.metric);
  return values.length === 0 ? [{ outcome: 'skip' }] : values.map((value) => ({ outcome: 'good' as const, value }));
}
