// Mann–Whitney U test of two samples: does one tend to lie above the other?
// Exact null distribution when the samples are small and have no ties
// (counting the arrangements of ranks), normal approximation with tie and
// continuity correction otherwise — the same choices as the usual
// statistics packages, so p-values can be checked against them.
import type { Alternative, TestResult } from './alternative.ts';
import { normalSf } from './normal.ts';

/** Above this n·m the exact distribution stops paying for itself. */
const EXACT_MAX_CELLS = 2500;

/**
 * U of the first sample: pairs (x, y) with x > y, ties counting one half.
 * 'greater' asks whether x tends to be larger than y.
 */
export function mannWhitneyU(x: readonly number[], y: readonly number[], alternative: Alternative = 'two-sided'): TestResult {
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) throw new RangeError('mannWhitneyU needs two non-empty samples');
  const { u, tieTerm } = rankSum(x, y);
  if (tieTerm === 0 && n * m <= EXACT_MAX_CELLS) {
    const dist = uDistribution(n, m);
    const k = Math.round(u);
    const pLess = cumulative(dist, 0, k);
    const pGreater = cumulative(dist, k, n * m);
    const p = alternative === 'less' ? pLess : alternative === 'greater' ? pGreater : Math.min(1, 2 * Math.min(pLess, pGreater));
    return { statistic: u, p, method: 'exact' };
  }
  const mu = (n * m) / 2;
  const N = n + m;
  const variance = ((n * m) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
  if (variance <= 0) return { statistic: u, p: 1, method: 'asymptotic' };
  const sd = Math.sqrt(variance);
  let p: number;
  if (alternative === 'greater') p = normalSf((u - mu - 0.5) / sd);
  else if (alternative === 'less') p = normalSf((mu - u - 0.5) / sd);
  else p = Math.min(1, 2 * normalSf((Math.max(u, n * m - u) - mu - 0.5) / sd));
  return { statistic: u, p, method: 'asymptotic' };
}

/** U of x from the midranks of the pooled sample, and Σ(t³ − t) over tie groups. */
function rankSum(x: readonly number[], y: readonly number[]): { u: number; tieTerm: number } {
  const pooled = [...x.map((v) => ({ v, fromX: true })), ...y.map((v) => ({ v, fromX: false }))];
  pooled.sort((a, b) => a.v - b.v);
  let rx = 0;
  let tieTerm = 0;
  for (let i = 0; i < pooled.length; ) {
    let j = i;
    while (j + 1 < pooled.length && pooled[j + 1]!.v === pooled[i]!.v) j++;
    const t = j - i + 1;
    const midrank = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) if (pooled[k]!.fromX) rx += midrank;
    tieTerm += t * t * t - t;
    i = j + 1;
  }
  const n = x.length;
  return { u: rx - (n * (n + 1)) / 2, tieTerm };
}

const distCache = new Map<string, Float64Array>();

/**
 * P(U = u) for u = 0..n·m under the null hypothesis: the coefficients of the
 * Gaussian binomial [n+m choose n]_q, divided by C(n+m, n). Built by
 * multiplying in (1 − q^(m+i)) / (1 − q^i) for i = 1..n.
 */
export function uDistribution(n: number, m: number): Float64Array {
  const key = `${n},${m}`;
  const hit = distCache.get(key);
  if (hit) return hit;
  const size = n * m + 1;
  const c = new Float64Array(size);
  c[0] = 1;
  for (let i = 1; i <= n; i++) {
    // multiply by (1 − q^(m+i)): from the top down so each term is used once
    for (let k = size - 1; k >= m + i; k--) c[k]! -= c[k - m - i]!;
    // divide by (1 − q^i): a running sum with stride i
    for (let k = i; k < size; k++) c[k]! += c[k - i]!;
  }
  let total = 0;
  for (const v of c) total += v;
  for (let k = 0; k < size; k++) c[k]! /= total;
  if (distCache.size > 256) distCache.clear();
  distCache.set(key, c);
  return c;
}

function cumulative(dist: Float64Array, from: number, to: number): number {
  let s = 0;
  for (let k = Math.max(0, from); k <= Math.min(to, dist.length - 1); k++) s += dist[k]!;
  return Math.min(1, s);
}
