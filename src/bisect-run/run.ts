// `stacklab bisect run`: the local driver of the bisect engine. It resolves
// the refs, builds the candidate graph with git rev-list, and then plays
// rounds: the engine names the probes, the driver runs the command for them
// in K worktrees at once and reports every run back. Every run's output is
// kept in a log directory (one file per run, numbered in the order the runs
// started), so a verdict can always be checked against what the test said.
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FailureError, UserError } from '../errors.ts';
import { parseRevList } from '../bisect/dag.ts';
import { createBisect, next, record, status, type Status } from '../bisect/engine.ts';
import type { BisectResult, BisectSpec, Dag, Direction, Observation, ProbeRequest } from '../bisect/types.ts';
import { readExit, readMetric, runCommand, type CommandRun, type OutputOptions } from './command.ts';
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
  /** function: stop when the most likely first bad commit has this probability (default 0.95). */
  confidence?: number;
  /** function: runs in all before the best guess is reported. */
  budget?: number;
  /** function: the test may fail before the culprit too. */
  falsePositives?: boolean;
  /** function: the test always fails after the culprit (git's cost; a flake is reported as inconsistent). */
  deterministic?: boolean;
  /** perf: one more sample of each end every round, for a machine whose speed drifts. */
  interleaveEnds?: boolean;
  /** Where each run's output is kept (created if missing); default a new directory under the system temp dir. */
  logDir?: string;
  signal?: AbortSignal;
  /** The log directory, before the first run. */
  onStart?: (logDir: string) => void;
  onRound?: (round: number, probes: ProbeRequest[], st: Status) => void;
  /** Each run as it finishes, with what it said. */
  onRun?: (run: RunRecord, obs: Observation[], done: number, total: number) => void;
  /** Each chunk of a run's output as it arrives (-v). */
  onOutput?: (run: { seq: number; sha: string }, chunk: string, stream: 'stdout' | 'stderr') => void;
}

export interface RunRecord {
  /** 1, 2, … in the order the runs started. */
  seq: number;
  sha: string;
  /** The exit status (null: killed by a signal). */
  code: number | null;
  ms: number;
  /** The file holding its output. */
  log: string;
  /** The last few KiB of its output. */
  tail: string;
}

export interface BisectRunOutcome {
  result: BisectResult;
  /** Subject lines of the commits the result names. */
  subjects: Map<string, string>;
  spec: BisectSpec;
  /** The candidate graph (for history order with branches). */
  dag: Dag;
  logDir: string;
  /** The culprit's last failing run, to show what the test said. */
  culpritRun?: RunRecord;
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
  if (o.metric === undefined && o.interleaveEnds) throw new UserError('bad_usage', '--interleave-ends is for --metric');
  if (o.metric === undefined) {
    if (o.confidence !== undefined) spec.confidence = o.confidence;
    if (o.budget !== undefined) spec.budget = o.budget;
    if (o.falsePositives) spec.falsePositives = true;
    if (o.deterministic) spec.deterministic = true;
  } else if (o.interleaveEnds) spec.interleaveEnds = true;
  if (o.metric !== undefined && (o.confidence !== undefined || o.budget !== undefined || o.falsePositives || o.deterministic)) {
    throw new UserError('bad_usage', '--confidence, --budget, --false-positives and --deterministic are for pass/fail tests, not --metric');
  }

  await checkRepo(o.repo);
  const bad = await resolveCommit(o.repo, o.bad);
  const good = await Promise.all(o.good.map((g) => resolveCommit(o.repo, g)));
  if (good.includes(bad)) throw new UserError('bad_ref', 'the bad commit is also given as good');
  const text = await revList(o.repo, bad, good, o.firstParent ?? false);
  if (text.trim() === '') throw new UserError('bad_ref', `${o.bad} is an ancestor of a good commit: nothing to bisect`);
  let state;
  let dag: Dag;
  try {
    dag = parseRevList(text, { bad, good, firstParent: o.firstParent ?? false });
    state = createBisect(dag, spec);
  } catch (err) {
    throw err instanceof RangeError ? new UserError('bad_input', err.message) : err;
  }

  const logDir = o.logDir !== undefined ? path.resolve(o.logDir) : await mkdtemp(path.join(tmpdir(), 'stacklab-bisect-logs-'));
  await mkdir(logDir, { recursive: true });
  o.onStart?.(logDir);
  const abort = new AbortController();
  const onOuterAbort = (): void => abort.abort(o.signal?.reason);
  o.signal?.addEventListener('abort', onOuterAbort, { once: true });
  const pool = await openWorktrees(o.repo, jobs, bad);
  const counter = { seq: 0 };
  const lastFail = new Map<string, RunRecord>();
  try {
    for (;;) {
      if (abort.signal.aborted) throw new FailureError('bisect interrupted');
      const step = next(state, jobs);
      if ('done' in step) {
        const r = step.done;
        const names = [r.first_bad, r.parent, ...(r.candidates ?? []), ...r.evidence.map((e) => e.sha)].filter((s): s is string => s !== null);
        const out: BisectRunOutcome = { result: r, subjects: await subjects(o.repo, [...new Set(names)]), spec, dag, logDir };
        const culprit = r.first_bad === null ? undefined : lastFail.get(r.first_bad);
        if (culprit) out.culpritRun = culprit;
        return out;
      }
      const probes = 'probes' in step ? step.probes : step.wait;
      o.onRound?.(status(state).rounds, probes, status(state));
      await playRound(probes, pool.trees, (t, sha) => pool.checkout(t, sha), { ...o, logDir, counter }, abort, (run, obs) => {
        for (const x of obs) record(state, run.sha, x);
        if (obs.some((x) => x.outcome === 'bad')) lastFail.set(run.sha, run);
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
  o: BisectRunOptions & { logDir: string; counter: { seq: number } },
  abort: AbortController,
  report: (run: RunRecord, obs: Observation[]) => void,
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
        const seq = ++o.counter.seq;
        const log = path.join(o.logDir, `${String(seq).padStart(4, '0')}-${sha.slice(0, 12)}.log`);
        const { run, obs } = await runOnce(sha, tree.dir, o, abort.signal, { log, ...(o.onOutput ? { onOutput: (chunk, stream) => o.onOutput!({ seq, sha }, chunk, stream) } : {}) });
        if (abort.signal.aborted) return;
        const rec: RunRecord = { seq, sha, code: run.code, ms: run.ms, log, tail: run.tail };
        report(rec, obs);
        done++;
        o.onRun?.(rec, obs, done, total);
      } catch (err) {
        failure ??= err;
        abort.abort();
      }
    }
  };
  await Promise.all(trees.map(worker));
  if (failure !== null) throw failure;
}

async function runOnce(sha: string, cwd: string, o: BisectRunOptions, signal: AbortSignal, out: OutputOptions): Promise<{ run: CommandRun; obs: Observation[] }> {
  const run = await runCommand(o.command, cwd, signal, out);
  if (signal.aborted) return { run, obs: [] };
  const v = readExit(run);
  if (v.kind === 'abort') {
    const tail = run.stderrTail.trim().split('\n').slice(-5).join('\n');
    throw new FailureError(`the command ${v.why} on ${sha}: bisect aborted${tail ? `\n${tail}` : ''}\n(its output: ${out.log})`);
  }
  if (o.metric === undefined) return { run, obs: [{ outcome: v.kind }] };
  // perf: a failed run, or one without the metric, cannot measure this commit
  if (v.kind !== 'good') return { run, obs: [{ outcome: 'skip' }] };
  const values = readMetric(run.stdout, o.metric);
  return { run, obs: values.length === 0 ? [{ outcome: 'skip' }] : values.map((value) => ({ outcome: 'good' as const, value })) };
}
