// The bisect engine: a pure state machine over plain data. A driver calls
// next() for the probes of a round, runs them however it likes (worktrees,
// lab jobs), reports each run with record(), and calls next() again until
// it answers done. The state is JSON; replay() rebuilds it from its log.
import { andNot, bits, clearBit, count, hasBit, members, setBit } from './bitset.ts';
import { buildResult } from './result.ts';
import { countable, modelOf, owedTotal, reference, type Model } from './model.ts';
import { remainingOf, type Remaining } from './remaining.ts';
import { selectProbes } from './select.ts';
import { resolveSpec } from './spec.ts';
import { samplesOf } from './verdict.ts';
import type { BisectResult, BisectSpec, BisectState, Dag, LogEntry, Observation, ProbeRequest, Step } from './types.ts';

export interface NextOptions {
  /** Commits whose build is already cached; they win near-ties. */
  cached?: (sha: string) => boolean;
  /** The same with a rank, lower first (when it was built): the earliest-built near-tie wins. */
  cacheRank?: (sha: string) => number | undefined;
}

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
}

export function status(state: BisectState): Status {
  const m = modelOf(state);
  let judged = 0;
  let samples = 0;
  for (const c of m.commits.values()) {
    samples += countable(c);
    if (c.given === undefined && c.judgedRuns > 0 && c.verdict !== 'pending') judged++;
  }
  return { rounds: m.rounds.length, remaining: remainingOf(m).size, judged, samples, owed: owedTotal(m) };
}

type Plan = { probes: ProbeRequest[] } | { done: BisectResult };

function planRound(m: Model, slots: number, options: NextOptions): Plan {
  const { spec, graph: g, dag } = m;
  const goodEnd = dag.good[0]!;
  const mandatory: ProbeRequest[] = [];
  const ask = (sha: string, runs: number, why: ProbeRequest['why']): void => {
    const have = mandatory.find((p) => p.sha === sha);
    if (have) have.runs = Math.max(have.runs, runs);
    else mandatory.push({ sha, runs, why });
  };
  // look-ups only: records are created by the log alone, so a replay sees the same order
  const sampleCount = (sha: string): number => {
    const c = m.commits.get(sha);
    if (!c) return 0;
    return spec.criterion === 'perf' ? samplesOf(c.runs).length : countable(c);
  };
  const room = (sha: string): number => Math.min(spec.increment, spec.maxRuns - sampleCount(sha));

  // perf: both ends measured, and measurably apart, before anything is judged
  if (spec.criterion === 'perf' && !m.endsDiffer) {
    const ends = [goodEnd, dag.bad];
    const short = ends.filter((s) => sampleCount(s) < spec.endRuns);
    for (const s of short) ask(s, spec.endRuns - sampleCount(s), 'end');
    if (short.length === 0) {
      for (const s of ends) if (room(s) > 0) ask(s, room(s), 'end');
      if (mandatory.length === 0) return { done: buildResult(m, { reason: 'no-regression', firstBad: null, candidates: [] }) };
    }
  }

  const r = remainingOf(m);
  if (r.size === 0) {
    // A good commit above a bad one: one of the two verdicts is wrong (noise,
    // a flaky test, several probes in one round). Measure both again; their
    // verdicts are re-judged on all their runs. Only when no run can be added
    // is the evidence reported as inconsistent.
    for (const sha of contradictions(m)) if (room(sha) > 0) ask(sha, Math.min(spec.repeat, spec.maxRuns - sampleCount(sha)), 'more');
    if (mandatory.length > 0) return { probes: mandatory };
    return { done: buildResult(m, { reason: 'inconsistent', firstBad: null, candidates: [] }) };
  }

  const requested = new Set(m.rounds.flatMap((round) => round.map((p) => p.sha)));
  const probed = bits(g.size);
  const fixed: number[] = [];
  for (const c of m.commits.values()) {
    if (c.node !== undefined && requested.has(c.sha)) setBit(probed, c.node);
    const inPlay = c.node !== undefined && hasBit(r.set, c.node);
    if (c.judgement === 'more' && countable(c) === c.judgedRuns && (inPlay || c.confirmAsked)) {
      // unclear, and it still matters: more runs
      ask(c.sha, spec.increment, 'more');
      if (inPlay) fixed.push(c.node!);
      if (spec.criterion === 'perf') {
        // keep each reference at least as large as the sample it judges
        const n = samplesOf(c.runs).length;
        for (const [side, end] of [['good', goodEnd], ['bad', dag.bad]] as const) {
          if (reference(m, side, c.sha).length < n + spec.increment && room(end) > 0) ask(end, room(end), 'end');
        }
      }
    } else if (inPlay && c.verdict === 'pending' && c.given === undefined && requested.has(c.sha)) {
      fixed.push(c.node!); // measured, waiting for the ends to differ
    }
  }

  const open = andNot(r.set, probed);
  if (r.bad !== null) clearBit(open, r.bad);
  for (const s of r.skipped) clearBit(open, s);

  if (mandatory.length === 0 && fixed.length === 0 && count(open) === 0) return finish(m, r);

  const picks = selectProbes(g, {
    remaining: r.set,
    open,
    fixed,
    skipped: r.skipped,
    bad: r.bad,
    slots: Math.max(0, slots - mandatory.length),
    cacheRank: options.cacheRank ?? (options.cached ? (sha: string) => (options.cached!(sha) ? 0 : undefined) : undefined),
    cachedTolerance: spec.cachedTolerance,
  });
  const probes = [...mandatory, ...picks.map((i) => ({ sha: g.shas[i]!, runs: spec.repeat, why: 'search' as const }))];
  return probes.length > 0 ? { probes } : finish(m, r);
}

/** Candidates judged good that can reach a candidate judged bad, and those bad ones. */
function contradictions(m: Model): string[] {
  const judged = [...m.commits.values()].filter((c) => c.node !== undefined && c.given === undefined);
  const out = new Set<string>();
  for (const g of judged.filter((c) => c.verdict === 'good')) {
    for (const b of judged.filter((c) => c.verdict === 'bad')) {
      if (hasBit(m.graph.ancestors[g.node!]!, b.node!)) out.add(g.sha).add(b.sha);
    }
  }
  return [...out];
}

/** Nothing left to search: confirm the boundary, or report what is known. */
function finish(m: Model, r: Remaining): Plan {
  const g = m.graph;
  const left = members(r.set);
  if (r.bad === null || left.length > 1) {
    const candidates = left.map((i) => g.shas[i]!);
    const reason = left.every((i) => r.skipped.has(i) || i === r.bad) ? 'only-skipped' : 'inconsistent';
    return { done: buildResult(m, { reason, firstBad: null, candidates }) };
  }
  const culprit = g.shas[r.bad]!;
  const parent = g.firstParent[r.bad] ?? null;
  if (m.spec.confirm) {
    const again: ProbeRequest[] = [];
    for (const sha of [culprit, parent]) {
      if (sha !== null && !(m.commits.get(sha)?.confirmAsked ?? false)) again.push({ sha, runs: m.spec.repeat, why: 'confirm' });
    }
    if (again.length > 0) return { probes: again };
  }
  return { done: buildResult(m, { reason: 'found', firstBad: culprit, candidates: [] }) };
}
