// The confidence reported for a first bad commit, calibrated at every
// failure rate and not only on average over the prior.
//
// The posterior with the rate integrated out is right on average over
// Jeffreys' prior, but at a low true rate it is too sure: a wrong commit
// just above the culprit explains the runs with fewer passes after it, so
// with a higher rate, and the integral rewards that (git bayesect's
// overconfidence warning is the same effect). So the confidence is the
// posterior of the commit with the rate fixed low: at the 2 % quantile of
// the rate's own posterior (the other hypotheses weighed in), the least
// favourable rate the runs still make plausible. With the seeded flaky
// benchmark this keeps >= 95 % of the answers at >= 0.95 right at every
// rate from 0.1 to 0.9 (bench/RESULTS.md), for about a fifth more runs.
//
// Two-sided (false positives allowed) keeps the integrated posterior: the
// runs of the good end pin the old rate and the benchmark shows it
// calibrated. A deterministic test (rate 1) needs no robustness.
import type { Group, Posterior, RateModel } from './posterior.ts';

/** The quantile of the failure rate's posterior at which the confidence is taken. */
export const RATE_QUANTILE = 0.02;

const GRID = 400;

export function confidenceOf(v: { model: RateModel; post: Posterior }, node: number): number {
  return confidenceAt(v, node).value;
}

/**
 * The confidence and, one-sided, the failure rate it was taken at (the 2 %
 * quantile of the rate's posterior); `integrated` is the posterior with the
 * rate integrated out, which the evidence shows as P(first bad).
 */
export function confidenceAt(v: { model: RateModel; post: Posterior }, node: number): { value: number; integrated: number; rate?: number } {
  const { model, post } = v;
  const marginal = post.mass[node] ?? 0;
  if (model.twoSided || model.newRate === 'certain' || post.impossible) return { value: marginal, integrated: marginal };
  const target = post.groups.find((x) => (x.members[node >>> 5]! & (1 << (node & 31))) !== 0);
  if (!target) return { value: 0, integrated: marginal };
  const prior = model.newRate;
  // one-sided: ln weight of a group at rate p (groups with a failure before them are already impossible)
  const lw = (x: Group, p: number): number => Math.log(x.size) + x.fa * Math.log(p) + x.pa * Math.log1p(-p);
  const logDensity = new Float64Array(GRID);
  const atRate = new Float64Array(GRID);
  let top = -Infinity;
  for (let i = 0; i < GRID; i++) {
    const p = (i + 0.5) / GRID;
    let m = -Infinity;
    const w = post.groups.map((x) => lw(x, p));
    for (const e of w) if (e > m) m = e;
    let z = 0;
    for (const e of w) z += Math.exp(e - m);
    atRate[i] = Math.exp(lw(target, p) - m) / target.size / z;
    logDensity[i] = m + Math.log(z) + (prior.a - 1) * Math.log(p) + (prior.b - 1) * Math.log1p(-p);
    if (logDensity[i]! > top) top = logDensity[i]!;
  }
  let total = 0;
  for (let i = 0; i < GRID; i++) total += Math.exp(logDensity[i]! - top);
  let acc = 0;
  for (let i = 0; i < GRID; i++) {
    acc += Math.exp(logDensity[i]! - top) / total;
    // never above the integrated posterior: the quantile only ever makes it more careful
    if (acc >= RATE_QUANTILE) return { value: Math.min(marginal, atRate[i]!), integrated: marginal, rate: (i + 0.5) / GRID };
  }
  return { value: Math.min(marginal, atRate[GRID - 1]!), integrated: marginal, rate: (GRID - 0.5) / GRID };
}
