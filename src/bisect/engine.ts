// The bisect engine: a pure state machine over plain data. A driver calls
// next() for the probes of a round, runs them however it likes (worktrees,
// lab jobs), reports each run with record(), and calls next() again until
// it answers done. The state is JSON; replay() rebuilds it from its log.
import { countable, modelOf, owedTotal, type Model } from './model.ts';
import { planClassic } from './plan-classic.ts';
import { planBayes } from './bayes/plan.ts';
import { bayesStatus } from './bayes/status.ts';
import { remainingOf } from './remaining.ts';
import { resolveSpec } from './spec.ts';
import type { BisectSpec, BisectState, Dag, LogEntry, NextOptions, Observation, Step } from './types.ts';

export type { NextOptions } from './types.ts';


/** A new bisect over `dag`. Throws RangeError on a malformed spec or graph. */
export function createBisect(dag: Dag, spec: BisectSpec): BisectState {
  resolveSpec(spec);
  if (!dag.commits.some((c) => c.sha === dag.bad)) throw new RangeError('the bad commit must be a candidate');
  if (dag.good.length === 0) throw new RangeError('at least one good commit is needed');
  const state: BisectState = { version: 1, dag, spec, log: [] };
  modelOf(state);
  return state;
}

/** The state that `log` leads to: how a driver resumes after a restart. */
export function replay(dag: Dag, spec: BisectSpec, log: readonly LogEntry[]): BisectState {
  const state = createBisect(dag, spec);
  state.log.push(...log.map((e) => structuredClone(e)));
  modelOf(state);
  return state;
}

/** Report one run of `sha` (a commit some round asked for). */
export function record(state: BisectState, sha: string, obs: Observation): void {
  const m = modelOf(state);
  if (!m.rounds.some((r) => r.some((p) => p.sha === sha))) throw new RangeError(`no probe of ${sha} was asked for`);
  if (!['good', 'bad', 'skip', 'infra'].includes(obs.outcome)) throw new RangeError(`unknown outcome ${String(obs.outcome)}`);
  if (obs.value !== undefined && !Number.isFinite(obs.value)) throw new RangeError('a sample value must be a finite number');
  const run: Observation = obs.value === undefined ? { outcome: obs.outcome } : { outcome: obs.outcome, value: obs.value };
  state.log.push({ kind: 'run', sha, obs: run });
  modelOf(state);
}

/**
 * The next step with `slots` probes allowed at once: a new round of probes,
 * the runs still owed by the current round, or the result. Asking again
 * before the owed runs are reported gives the same answer.
 */
export function next(state: BisectState, slots: number, options: NextOptions = {}): Step {
  if (!Number.isInteger(slots) || slots < 1) throw new RangeError('slots must be a positive integer');
  const m = modelOf(state);
  if (owedTotal(m) > 0) {
    const last = m.rounds[m.rounds.length - 1] ?? [];
    return { wait: last.filter((p) => (m.owed.get(p.sha) ?? 0) > 0).map((p) => ({ ...p, runs: m.owed.get(p.sha)! })) };
  }
  const plan = planRound(m, slots, options);
  if ('done' in plan) return plan;
  state.log.push({ kind: 'round', probes: plan.probes });
  modelOf(state);
  return { probes: plan.probes, round: m.rounds.length };
}

export interface Status {
  rounds: number;
  /** Commits that may still be the first bad one. */
  remaining: number;
  /** Commits with a verdict from their runs. */
  judged: number;
  /** Runs reported (infra failures not counted). */
  samples: number;
  /** Runs still owed by the current round. */
  owed: number;
  /** bayes: the most likely first bad commit so far and its posterior probability. */
  best?: { sha: string; p: number };
}

export function status(state: BisectState): Status {
  const m = modelOf(state);
  if (m.spec.rule === 'bayes') return { rounds: m.rounds.length, owed: owedTotal(m), ...bayesStatus(m) };
  let judged = 0;
  let samples = 0;
  for (const c of m.commits.values()) {
    samples += countable(c);
    if (c.given === undefined && c.judgedRuns > 0 && c.verdict !== 'pending') judged++;
  }
  return { rounds: m.rounds.length, remaining: remainingOf(m).size, judged, samples, owed: owedTotal(m) };
}

function planRound(m: Model, slots: number, options: NextOptions) {
  const cacheRank = options.cacheRank;
  return m.spec.rule === 'bayes' ? planBayes(m, slots, { cacheRank }) : planClassic(m, slots, options);
}
