// Two-sample Kolmogorov–Smirnov test: the largest gap between the two
// empirical distribution functions. Exact p-value by counting the monotone
// lattice paths that keep the gap below the observed one (in probability
// space, so large samples do not overflow); Kolmogorov's limiting
// distribution (with Stephens' small-sample correction) or Smirnov's
// one-sided limit when the samples are too large to count.
import type { Alternative, TestResult } from './alternative.ts';

const EXACT_MAX_CELLS = 10000;

/**
 * 'less' asks whether x tends to be smaller than y (its distribution
 * function lies above y's); 'greater' the opposite. The statistic is the
 * gap measured in that direction (both directions for 'two-sided').
 */
export function kolmogorovSmirnov(x: readonly number[], y: readonly number[], alternative: Alternative = 'two-sided'): TestResult {
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) throw new RangeError('kolmogorovSmirnov needs two non-empty samples');
  // Gaps are kept as integers over n·m so the path count compares exactly.
  const gap = maxGap(x, y, alternative);
  const statistic = gap / (n * m);
  if (gap <= 0) return { statistic: 0, p: 1, method: 'exact' };
  if (n * m <= EXACT_MAX_CELLS) {
    const inside = probabilityInside(n, m, gap, alternative === 'two-sided');
    return { statistic, p: clamp01(1 - inside), method: 'exact' };
  }
  const en = (n * m) / (n + m);
  if (alternative === 'two-sided') {
    const s = Math.sqrt(en);
    return { statistic, p: clamp01(kolmogorovSf((s + 0.12 + 0.11 / s) * statistic)), method: 'asymptotic' };
  }
  // Smirnov's one-sided limit with its first-order finite-sample term
  const z = Math.sqrt(en) * statistic;
  return { statistic, p: clamp01(Math.exp(-2 * z * z - (2 * z) / (3 * Math.sqrt(en)))), method: 'asymptotic' };
}

/** The largest (i·m − j·n) over the merged order, signed by the alternative. */
function maxGap(x: readonly number[], y: readonly number[], alternative: Alternative): number {
  const xs = [...x].sort((a, b) => a - b);
  const ys = [...y].sort((a, b) => a - b);
  const n = xs.length;
  const m = ys.length;
  let i = 0;
  let j = 0;
  let best = 0;
  while (i < n || j < m) {
    // step past every value equal to the next one in both samples at once,
    // so ties never open a gap that the distribution functions do not have
    const v = Math.min(i < n ? xs[i]! : Infinity, j < m ? ys[j]! : Infinity);
    while (i < n && xs[i] === v) i++;
    while (j < m && ys[j] === v) j++;
    const d = i * m - j * n;
    const g = alternative === 'less' ? d : alternative === 'greater' ? -d : Math.abs(d);
    if (g > best) best = g;
  }
  return best;
}

/**
 * P(every point of a random arrangement stays strictly inside the band):
 * |i·m − j·n| < gap (two-sided) or i·m − j·n < gap (one-sided, x ahead).
 */
function probabilityInside(n: number, m: number, gap: number, twoSided: boolean): number {
  const ok = (i: number, j: number): boolean => {
    const d = i * m - j * n;
    return d < gap && (!twoSided || -d < gap);
  };
  // row[j] = P(the path passes through (i, j) without leaving the band)
  let row = new Float64Array(m + 1);
  row[0] = 1;
  for (let j = 1; j <= m; j++) row[j] = ok(0, j) ? row[j - 1]! * ((m - j + 1) / (n + m - j + 1)) : 0;
  for (let i = 1; i <= n; i++) {
    const next = new Float64Array(m + 1);
    for (let j = 0; j <= m; j++) {
      if (!ok(i, j)) continue;
      const left = n + m - (i - 1) - j; // items left when standing at (i−1, j)
      let p = row[j]! * ((n - i + 1) / left);
      if (j > 0) p += next[j - 1]! * ((m - j + 1) / (n + m - i - (j - 1)));
      next[j] = p;
    }
    row = next;
  }
  return row[m]!;
}

/** Q_KS(λ) = 2 Σ (−1)^(k−1) exp(−2 k² λ²), the limiting two-sided tail. */
export function kolmogorovSf(lambda: number): number {
  if (lambda < 0.2) return 1;
  let sum = 0;
  let sign = 1;
  for (let k = 1; k <= 100; k++) {
    const term = sign * Math.exp(-2 * k * k * lambda * lambda);
    sum += term;
    if (Math.abs(term) < 1e-12 * Math.abs(sum)) break;
    sign = -sign;
  }
  return 2 * sum;
}

function clamp01(p: number): number {
  return Math.min(1, Math.max(0, p));
}
