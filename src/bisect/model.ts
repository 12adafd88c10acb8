// The engine's view of a bisect, folded from its log. Verdicts are
// re-evaluated at fixed points of the log — whenever a run arrives and no
// run of the current round is still owed — so a state rebuilt from the log
// (after a restart, or from JSON) reaches exactly the same verdicts, and so
// the same next step, as the live one.
import { estimateDrift, NO_DRIFT, type Drift, type EndSample } from './drift.ts';
import { graphOf, type Graph } from './graph.ts';
import { countRuns, judgeOutcomes, judgeSamples, samplesOf, worseP, type Judgement } from './verdict.ts';
import { resolveSpec, type FullSpec } from './spec.ts';
import type { BisectState, Dag, LogEntry, Observation, ProbeRequest, Verdict } from './types.ts';

export interface CommitRecord {
  sha: string;
  /** Index into the candidate graph; undefined for commits outside it (ends, a culprit's good parent). */
  node: number | undefined;
  /** Named by the user (or, outside the candidates, implied good by ancestry): the verdict is given. */
  given?: 'good' | 'bad';
  end?: 'good' | 'bad';
  runs: Observation[];
  /** The round each run arrived in (index into Model.rounds), parallel to runs. */
  at: number[];
  /** Countable (non-infra) runs seen when last judged. */
  judgedRuns: number;
  verdict: Verdict;
  /** The last judgement: 'more' means it asked for more runs. */
  judgement: Judgement | null;
  pValues?: { vs_good: number; vs_bad: number };
  confirmAsked: boolean;
}

export interface Model {
  dag: Dag;
  graph: Graph;
  spec: FullSpec;
  commits: Map<string, CommitRecord>;
  rounds: ProbeRequest[][];
  owed: Map<string, number>;
  /** perf: the bad end measured worse than the good end (sticky once true). */
  endsDiffer: boolean;
  /** perf with interleaveEnds: the machine's drift as the ends show it, re-estimated at each evaluation. */
  drift: Drift;
  applied: number;
}

const cache = new WeakMap<BisectState, Model>();

export function modelOf(state: BisectState): Model {
  let m = cache.get(state);
  if (!m || m.applied > state.log.length) {
    m = emptyModel(state);
    cache.set(state, m);
  }
  while (m.applied < state.log.length) apply(m, state.log[m.applied]!);
  return m;
}

function emptyModel(state: BisectState): Model {
  const graph = graphOf(state.dag);
  const m: Model = { dag: state.dag, graph, spec: resolveSpec(state.spec), commits: new Map(), rounds: [], owed: new Map(), endsDiffer: false, drift: NO_DRIFT, applied: 0 };
  for (const g of state.dag.good) commitRecord(m, g).given = 'good';
  for (const g of state.dag.good) commitRecord(m, g).end = 'good';
  const bad = commitRecord(m, state.dag.bad);
  bad.given = 'bad';
  bad.end = 'bad';
  bad.verdict = 'bad';
  for (const g of state.dag.good) commitRecord(m, g).verdict = 'good';
  return m;
}

export function commitRecord(m: Model, sha: string): CommitRecord {
  let c = m.commits.get(sha);
  if (!c) {
    const node = m.graph.index.get(sha);
    c = { sha, node, runs: [], at: [], judgedRuns: 0, verdict: 'pending', judgement: null, confirmAsked: false };
    // outside the candidates and not named: an ancestor of a good commit
    if (node === undefined) {
      c.given = 'good';
      c.verdict = 'good';
    }
    m.commits.set(sha, c);
  }
  return c;
}

function apply(m: Model, entry: LogEntry): void {
  m.applied++;
  if (entry.kind === 'round') {
    m.rounds.push(entry.probes);
    m.owed.clear();
    for (const p of entry.probes) {
      m.owed.set(p.sha, (m.owed.get(p.sha) ?? 0) + p.runs);
      const c = commitRecord(m, p.sha);
      if (p.why === 'confirm') c.confirmAsked = true;
    }
    return;
  }
  const c = commitRecord(m, entry.sha);
  c.runs.push(entry.obs);
  c.at.push(m.rounds.length - 1);
  if (entry.obs.outcome === 'infra') return;
  const owed = m.owed.get(entry.sha) ?? 0;
  if (owed > 0) m.owed.set(entry.sha, owed - 1);
  if (owedTotal(m) === 0) evaluate(m);
}

export function owedTotal(m: Model): number {
  let n = 0;
  for (const v of m.owed.values()) n += v;
  return n;
}

export function countable(c: CommitRecord): number {
  return c.runs.filter((r) => r.outcome !== 'infra').length;
}

/** Judge every commit that has runs it was not yet judged on, oldest first. */
function evaluate(m: Model): void {
  if (m.spec.criterion === 'perf' && !m.endsDiffer) {
    const p = worseP(endSamples(m, 'bad'), endSamples(m, 'good'), m.spec.direction);
    if (p <= m.spec.alpha) m.endsDiffer = true;
  }
  if (m.spec.criterion === 'perf' && m.spec.interleaveEnds) m.drift = driftOf(m);
  for (const c of m.commits.values()) {
    const n = countable(c);
    if (n === c.judgedRuns) continue;
    if (m.spec.criterion === 'perf') {
      if (!m.endsDiffer) continue; // nothing to compare with yet; judged once the ends differ
      judgePerf(m, c);
    } else if (c.given === undefined && m.spec.rule === 'majority') {
      // the Bayesian rule judges from its posterior (bayes/), not per commit
      c.judgement = judgeOutcomes(countRuns(c.runs), m.spec.maxRuns);
      c.verdict = c.judgement === 'more' ? 'pending' : c.judgement;
    }
    c.judgedRuns = n;
  }
}

export function endSamples(m: Model, side: 'good' | 'bad'): number[] {
  const out: number[] = [];
  for (const c of m.commits.values()) if (c.end === side) out.push(...samplesOf(c.runs));
  return out;
}

/** Ends plus every commit judged to their side (the step model: all good commits measure alike). */
export function reference(m: Model, side: 'good' | 'bad', except: string): number[] {
  const out: number[] = [];
  for (const c of m.commits.values()) if (c.sha !== except && c.verdict === side) out.push(...judgedSamples(m, c));
  return out;
}

/** The end samples with the round each came in (interleaveEnds' drift estimate). */
function driftOf(m: Model): Drift {
  const ends: EndSample[][] = [];
  for (const c of m.commits.values()) {
    if (c.end === undefined) continue;
    const samples: EndSample[] = [];
    c.runs.forEach((r, i) => {
      if (hasValue(r)) samples.push({ value: r.value!, round: c.at[i]!, key: `${c.sha}:${i}` });
    });
    ends.push(samples);
  }
  return estimateDrift(ends);
}

function hasValue(r: Observation): boolean {
  return (r.outcome === 'good' || r.outcome === 'bad') && r.value !== undefined && Number.isFinite(r.value);
}

/**
 * The samples a perf verdict is made on: the commit's samples, less the
 * machine's drift at the round each came in when interleaveEnds lets the
 * ends tell it (drift.ts). What is shown of a commit stays its raw samples.
 */
export function judgedSamples(m: Model, c: CommitRecord): number[] {
  if (m.drift.factor === 0) return samplesOf(c.runs);
  const out: number[] = [];
  c.runs.forEach((r, i) => {
    if (hasValue(r)) out.push(r.value! - m.drift.at(c.at[i]!, `${c.sha}:${i}`));
  });
  return out;
}

function judgePerf(m: Model, c: CommitRecord): void {
  const x = judgedSamples(m, c);
  if (x.length === 0) {
    if (c.given === undefined) {
      c.judgement = 'skip';
      c.verdict = 'skip';
    }
    return;
  }
  const j = judgeSamples(x, reference(m, 'good', c.sha), reference(m, 'bad', c.sha), m.spec);
  c.pValues = { vs_good: j.vsGood, vs_bad: j.vsBad };
  if (c.given !== undefined) return; // ends keep their given verdict; the p-values feed the confidence
  c.judgement = j.judgement === 'more' && x.length >= m.spec.maxRuns ? 'skip' : j.judgement;
  c.verdict = c.judgement === 'more' ? 'pending' : c.judgement;
}

