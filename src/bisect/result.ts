// The bisect result of SPEC §7, and how sure the engine is of it.
//
// Confidence is about the boundary only: whatever happened earlier in the
// search, the answer is right when the culprit really is bad and its parent
// really is good. build/function: each is judged by its runs, and a run is
// wrong with a flake rate estimated from every run of this bisect that
// disagreed with its commit's verdict (Laplace-smoothed: consistent runs
// give a small rate, not zero); the chance that a commit's verdict is wrong
// is the posterior of its agreeing vs dissenting runs. perf: one minus the
// p-value that the culprit is worse than the good reference, times one
// minus the p-value that the parent is better than the bad reference.
import { historyRank } from './history.ts';
import { endSamples, type CommitRecord, type Model } from './model.ts';
import { countRuns, samplesOf } from './verdict.ts';
import type { BisectResult, Evidence, ResultReason } from './types.ts';

export interface Outcome {
  reason: ResultReason;
  firstBad: string | null;
  candidates: string[];
}

export function buildResult(m: Model, outcome: Outcome): BisectResult {
  const rank = historyRank(m.dag);
  const tested = [...m.commits.values()].filter((c) => c.runs.length > 0).sort((a, b) => rank(a.sha) - rank(b.sha));
  const evidence: Evidence[] = tested.map((c) => evidenceOf(m, c));
  const parent = outcome.firstBad === null ? null : (m.graph.firstParent[m.graph.index.get(outcome.firstBad)!] ?? null);
  const conf = outcome.firstBad === null ? 0 : round3(confidence(m, outcome.firstBad, parent));
  const result: BisectResult = {
    first_bad: outcome.firstBad,
    parent,
    confidence: conf,
    reason: outcome.reason,
    probes: tested.length,
    samples: tested.reduce((n, c) => n + c.runs.filter((r) => r.outcome !== 'infra').length, 0),
    rounds: m.rounds.length,
    skipped: tested.filter((c) => c.verdict === 'skip').map((c) => c.sha),
    evidence,
    message: messageOf(m, outcome, conf),
  };
  if (outcome.firstBad === null && outcome.candidates.length > 0) result.candidates = outcome.candidates;
  return result;
}

function messageOf(m: Model, o: Outcome, conf: number): string {
  const short = (sha: string): string => sha.slice(0, 12);
  const metric = m.spec.metric ? ` in ${m.spec.metric}` : '';
  switch (o.reason) {
    case 'found':
      return m.spec.criterion === 'perf'
        ? `${short(o.firstBad!)} is the first commit measurably worse than the good end${metric}, its parent not (confidence ${conf.toFixed(3)}).`
        : `${short(o.firstBad!)} is the first bad commit by the majority of its runs (confidence ${conf.toFixed(3)}).`;
    case 'only-skipped':
      return `only commits that could not be tested are left: the first bad commit is one of these ${o.candidates.length}.`;
    case 'no-regression': {
      if (m.spec.criterion !== 'perf') {
        const n = countRuns(m.commits.get(m.dag.bad)?.runs ?? []);
        return `the bad end tested good ${n.good} of ${n.good + n.bad} times: no regression in this range.`;
      }
      const bad = endSamples(m, 'bad');
      const good = endSamples(m, 'good');
      return `the bad end is not measurably worse than the good end${metric} (${bad.length} and ${good.length} samples, medians ${median(bad)} and ${median(good)}): no regression in this range, or one too small to see.`;
    }
    case 'inconsistent':
      return m.spec.criterion === 'perf'
        ? 'the verdicts contradict each other even after more samples (more than one change, or noise the tests cannot separate).'
        : m.commits.get(m.dag.bad)?.verdict === 'good'
          ? `the bad end ${short(m.dag.bad)} tested good: no regression in this range.`
          : 'the verdicts contradict each other (more than one regression, or a flaky test).';
  }
}

function median(xs: number[]): string {
  if (xs.length === 0) return '-';
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return mid.toPrecision(4);
}

function evidenceOf(m: Model, c: CommitRecord): Evidence {
  // majority: a bad end that was run is judged by its runs like any commit
  const n = countRuns(c.runs);
  const verdict = c.end === 'bad' && m.spec.rule === 'majority' && n.good + n.bad > 0 ? (n.good > n.bad ? 'good' : 'bad') : c.verdict;
  const e: Evidence = { sha: c.sha, verdict, outcomes: c.runs.map((r) => r.outcome) };
  if (c.end) e.end = c.end;
  if (m.spec.criterion === 'perf') {
    e.samples = samplesOf(c.runs);
    if (c.pValues) e.p_values = { vs_good: round6(c.pValues.vs_good), vs_bad: round6(c.pValues.vs_bad) };
  }
  return e;
}

function confidence(m: Model, culprit: string, parent: string | null): number {
  const c = m.commits.get(culprit);
  const p = parent === null ? undefined : m.commits.get(parent);
  if (m.spec.criterion === 'perf') {
    const cOk = c?.pValues ? 1 - c.pValues.vs_good : 0;
    const pOk = parent === null ? 1 : p?.pValues ? 1 - p.pValues.vs_bad : 0.5;
    return cOk * pOk;
  }
  const eps = flakeRate(m);
  const cOk = c ? 1 - wrongChance(c, 'bad', eps) : 0;
  const pOk = p ? 1 - wrongChance(p, 'good', eps) : parent === null ? 1 : 1 - eps;
  return cOk * pOk;
}

/** Share of runs (over the whole bisect) that disagreed with their commit's verdict. */
function flakeRate(m: Model): number {
  let dissent = 0;
  let total = 0;
  for (const c of m.commits.values()) {
    const n = countRuns(c.runs);
    if (c.verdict === 'good') dissent += n.bad;
    else if (c.verdict === 'bad') dissent += n.good;
    else continue;
    total += n.good + n.bad;
  }
  return (dissent + 0.5) / (total + 1);
}

/** P(the verdict `side` is wrong) from the commit's agreeing and dissenting runs. */
function wrongChance(c: CommitRecord, side: 'good' | 'bad', eps: number): number {
  const n = countRuns(c.runs);
  // a verdict given by the user or by ancestry counts as one agreeing run
  const agree = (side === 'good' ? n.good : n.bad) + (c.given === side ? 1 : 0);
  const dissent = side === 'good' ? n.bad : n.good;
  const wrong = eps ** agree * (1 - eps) ** dissent;
  const right = (1 - eps) ** agree * eps ** dissent;
  return wrong / (wrong + right);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function round6(x: number): number {
  return Number(x.toPrecision(6));
}
