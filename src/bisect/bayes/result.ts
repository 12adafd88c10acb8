// The result (SPEC §7) of a Bayesian bisect, and the sentence that says
// what it means. Confidence is the posterior probability of the answer:
// of the first bad commit named, or of the range of untestable commits.
// It is rounded down, so a reported 0.95 is never really 0.9496.
import { historyRank } from '../history.ts';
import type { Model } from '../model.ts';
import type { BisectResult, Evidence, ResultReason, Verdict } from '../types.ts';
import { confidenceAt } from './confidence.ts';
import { badProbability, mostLikely } from './posterior.ts';
import { rateBound } from './rates.ts';
import { isSkipped, type BayesView, type Counts } from './view.ts';

export interface BayesOutcome {
  /** 'budget': the runs ran out (or nothing was left worth a run) before an answer was certain enough. */
  reason: ResultReason | 'budget';
  candidates?: string[];
}

const floor3 = (x: number): number => Math.floor(x * 1000 + 1e-9) / 1000;
const round4 = (x: number): number => Math.round(x * 10000) / 10000;
const short = (sha: string): string => sha.slice(0, 12);
const pct = (x: number): string => `${Math.round(x * 100)} %`;

export function bayesResult(m: Model, v: BayesView, o: BayesOutcome): BisectResult {
  const g = m.graph;
  const spec = m.spec;
  const top = v.post.impossible ? null : mostLikely(g, v.post);
  let reason: ResultReason = o.reason === 'budget' ? 'found' : o.reason;
  let firstBad: string | null = null;
  let confidence = 0;
  let stop: BisectResult['stop'];
  let message: string;
  const runs = (n: Counts | undefined): string => (n ? `failed ${n.fails} of ${n.fails + n.passes} run${n.fails + n.passes === 1 ? '' : 's'}` : 'was not run');

  if (o.reason === 'budget' && !v.shown) {
    reason = 'no-regression';
    const n = v.bad.fails + v.bad.passes;
    message = n === 0 && !v.model.twoSided ? `the run budget (${v.runs} runs) ran out before the bad end was tested: no culprit is named until it has failed.` : notShown(m, v, `the run budget (${v.runs} runs) ran out before it was`);
  } else if ((o.reason === 'found' || o.reason === 'budget') && top !== null) {
    firstBad = g.shas[top.node]!;
    const at = confidenceAt(v, top.node);
    confidence = floor3(at.value);
    stop = o.reason === 'found' ? 'confidence' : 'budget';
    const parent = g.firstParent[top.node] ?? null;
    const said = `${short(firstBad)} ${runs(v.counts.get(firstBad))}${parent ? `; its parent ${short(parent)} ${runs(v.counts.get(parent))}` : ''}`;
    message =
      stop === 'confidence'
        ? `${short(firstBad)} is the first bad commit with probability ${confidence.toFixed(3)} (asked for ${spec.confidence}${cautious(at, confidence)}): ${said}.`
        : `no commit reached ${spec.confidence} within ${v.runs} runs; the most likely first bad commit is ${short(firstBad)} (${confidence.toFixed(3)}${cautious(at, confidence)}): ${said}. More runs (a larger budget) would settle it.`;
  } else if (o.reason === 'only-skipped') {
    const set = o.candidates ?? [];
    let mass = 0;
    for (const sha of set) mass += v.post.mass[g.index.get(sha)!] ?? 0;
    confidence = floor3(mass);
    message = `only commits that could not be tested are left: the first bad commit is one of these ${set.length} (probability ${confidence.toFixed(3)}).`;
  } else if (o.reason === 'no-regression') {
    message = v.model.newRate === 'certain' ? `the bad end passed: a test that always fails after the first bad commit shows no regression in this range.${fixedLater(m, v)}` : notShown(m, v, `${spec.endRuns} runs did not show it`);
  } else {
    message = inconsistent(m, v);
  }

  const rank = historyRank(m.dag);
  const tested = [...m.commits.values()].filter((c) => c.runs.length > 0).sort((a, b) => rank(a.sha) - rank(b.sha));
  const judged = !v.post.impossible && reason !== 'no-regression';
  const evidence: Evidence[] = tested.map((c) => {
    const n = v.counts.get(c.sha)!;
    const e: Evidence = { sha: c.sha, verdict: verdictOf(m, v, c.sha, c.node, c.end, n, judged), outcomes: c.runs.map((r) => r.outcome) };
    if (c.end) e.end = c.end;
    if (judged && c.node !== undefined) {
      e.p_bad = round4(badProbability(g, v.post, c.node));
      e.posterior = round4(v.post.mass[c.node]!);
    }
    return e;
  });
  const result: BisectResult = {
    first_bad: firstBad,
    parent: firstBad === null ? null : (g.firstParent[g.index.get(firstBad)!] ?? null),
    confidence,
    reason,
    probes: tested.length,
    samples: v.runs,
    rounds: m.rounds.length,
    skipped: tested.filter((c) => (c.node !== undefined ? v.skipped.has(c.node) : isSkipped(v.counts.get(c.sha)!))).map((c) => c.sha),
    evidence,
    message,
  };
  if (stop) result.stop = stop;
  if (firstBad === null && o.candidates && o.candidates.length > 0) result.candidates = o.candidates;
  return result;
}

function verdictOf(m: Model, v: BayesView, sha: string, node: number | undefined, end: 'good' | 'bad' | undefined, n: Counts, judged: boolean): Verdict {
  if (node !== undefined ? v.skipped.has(node) : isSkipped(n)) return 'skip';
  if (end === 'bad' && !v.shown) return n.passes > 0 ? 'good' : 'pending';
  if (!judged || node === undefined) return n.fails > 0 ? 'bad' : n.passes > 0 ? 'good' : 'pending';
  const p = badProbability(m.graph, v.post, node);
  // 'pending' here means "not settled": its P(bad) is in the evidence
  return p >= m.spec.confidence ? 'bad' : p <= 1 - m.spec.confidence ? 'good' : 'pending';
}

/**
 * Why the confidence is below the P(first bad) the evidence shows: it is taken
 * at a low failure rate the runs still make plausible (confidence.ts).
 */
function cautious(at: { integrated: number; rate?: number }, confidence: number): string {
  const integrated = floor3(at.integrated);
  if (at.rate === undefined || integrated - confidence < 0.001) return '';
  return `; taken at a failure rate of ${pct(at.rate)}, the lowest the runs make plausible; ${integrated.toFixed(3)} with the rate integrated out`;
}

function notShown(m: Model, v: BayesView, why: string): string {
  const b = v.bad;
  const n = b.fails + b.passes;
  if (v.model.twoSided) {
    const gd = v.good;
    return `the bad end failed ${b.fails} of ${n} runs and the good end ${gd.fails} of ${gd.fails + gd.passes}: a change of failure rate in the range is not shown (P = ${v.pShown.toFixed(3)}, asked for ${m.spec.confidence}; the ends alone ${v.pEnds.toFixed(2)}); ${why}. No regression in this range, or too small a change to see in this many runs.`;
  }
  if (n === 0) return `the bad end could not be tested (${b.skips} skipped runs): no culprit can be named.`;
  return `the bad end tested good ${n} time${n === 1 ? '' : 's'}: no regression in this range, or it fails less often than ${pct(rateBound(n, 0.95))} of runs (95 % bound).${fixedLater(m, v)}`;
}

/** When commits below a bad end that passed did fail: the likely story, said. */
function fixedLater(m: Model, v: BayesView): string {
  let below = 0;
  for (const [sha, c] of v.counts) if (sha !== m.dag.bad && c.fails > 0) below++;
  return below > 0 ? ` Yet ${below} commit${below === 1 ? '' : 's'} below it failed: was the failure fixed later in the range?` : '';
}

function inconsistent(m: Model, v: BayesView): string {
  const failedOutside = [...m.commits.values()].filter((c) => c.node === undefined && (v.counts.get(c.sha)?.fails ?? 0) > 0);
  if (failedOutside.length > 0) {
    const c = failedOutside[0]!;
    const what = c.end === 'good' ? 'the good end' : 'a commit before the range';
    return `${what} ${short(c.sha)} failed ${v.counts.get(c.sha)!.fails} time(s): it is not good, or the test also fails before the regression (then bisect with false positives allowed).`;
  }
  return 'the failures cannot come from one first bad commit (two regressions on different branches, or failures before the regression: then bisect with false positives allowed).';
}
