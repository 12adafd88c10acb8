// Verdicts from runs. build/function: the majority of the runs that could
// judge the commit (a tie asks for one more run). perf: the commit's
// samples against the good and the bad references by the rank tests,
// answering good, bad, or "need more samples".
import { shiftP } from './stats/compare.ts';
import type { Direction, Observation } from './types.ts';

export type Judgement = 'good' | 'bad' | 'skip' | 'more';

export interface RunCounts {
  good: number;
  bad: number;
  skip: number;
  infra: number;
}

export function countRuns(runs: readonly Observation[]): RunCounts {
  const c = { good: 0, bad: 0, skip: 0, infra: 0 };
  for (const r of runs) c[r.outcome]++;
  return c;
}

/** build/function: majority of good/bad runs; only skips → skip; a tie → more, until the budget. */
export function judgeOutcomes(c: RunCounts, maxRuns: number): Judgement {
  if (c.good > c.bad) return 'good';
  if (c.bad > c.good) return 'bad';
  if (c.good === 0) return 'skip';
  return c.good + c.bad + c.skip >= maxRuns ? 'skip' : 'more';
}

/** The metric samples of a perf commit: runs that worked and reported a value. */
export function samplesOf(runs: readonly Observation[]): number[] {
  const out: number[] = [];
  for (const r of runs) if ((r.outcome === 'good' || r.outcome === 'bad') && r.value !== undefined && Number.isFinite(r.value)) out.push(r.value);
  return out;
}

export interface PerfRule {
  direction: Direction;
  alpha: number;
  same: number;
}

export interface PerfJudgement {
  judgement: Exclude<Judgement, 'skip'>;
  vsGood: number;
  vsBad: number;
}

/** p that `x` is worse than `ref` (a regression's direction). */
export function worseP(x: readonly number[], ref: readonly number[], direction: Direction): number {
  return shiftP(x, ref, direction === 'lower' ? 'greater' : 'less');
}

/** p that `x` is better than `ref`. */
export function betterP(x: readonly number[], ref: readonly number[], direction: Direction): number {
  return shiftP(x, ref, direction === 'lower' ? 'less' : 'greater');
}

/**
 * bad = clearly worse than the good reference (p <= alpha) and either not
 * clearly better than the bad one (p > same) or far likelier bad than good
 * (its p against the bad side at least 1/alpha times the other); good =
 * the mirror image; anything else needs more samples. Requiring both sides
 * keeps one lucky draw of a few samples from deciding a verdict. The ratio
 * route matters with many samples: the pooled references are a little
 * biased (commits are judged as soon as they look clear, so a pool leans
 * to its extreme), and a commit measured 20 times can look "different"
 * from both sides while plainly belonging to one.
 */
export function judgeSamples(x: readonly number[], goodRef: readonly number[], badRef: readonly number[], rule: PerfRule): PerfJudgement {
  const vsGood = worseP(x, goodRef, rule.direction);
  const vsBad = betterP(x, badRef, rule.direction);
  let judgement: PerfJudgement['judgement'] = 'more';
  const ratio = 1 / rule.alpha;
  if (vsGood <= rule.alpha && (vsBad > rule.same || vsBad >= vsGood * ratio)) judgement = 'bad';
  else if (vsBad <= rule.alpha && (vsGood > rule.same || vsGood >= vsBad * ratio)) judgement = 'good';
  return { judgement, vsGood, vsBad };
}
