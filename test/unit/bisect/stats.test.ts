// The rank tests against values from an independent implementation (SciPy
// 1.17: mannwhitneyu with use_continuity=True; ks_2samp, whose 'greater' is
// our 'less'), a published critical value, and exhaustive enumeration of
// every arrangement of small samples.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mannWhitneyU, uDistribution } from '../../../src/bisect/stats/mwu.ts';
import { kolmogorovSmirnov, kolmogorovSf } from '../../../src/bisect/stats/ks.ts';
import { normalSf } from '../../../src/bisect/stats/normal.ts';
import type { Alternative } from '../../../src/bisect/stats/alternative.ts';

function close(actual: number, expected: number, rel = 1e-6, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(1e-12, Math.abs(expected)), `${what}: ${actual} != ${expected}`);
}

// [x, y, {alternative: [U, p_mwu, D, p_ks]}]
const scipy: [number[], number[], Record<Alternative, [number, number, number, number]>][] = [
  [[1.1, 2.2, 3.3, 4.4], [5.5, 6.6, 7.7], {
    'two-sided': [0, 0.05714285714285714, 1, 0.05714285714285715],
    less: [0, 0.02857142857142857, 1, 0.02857142857142857],
    greater: [0, 1, 0, 1],
  }],
  [[19.5, 21.1, 23.0, 20.4, 22.8, 18.9], [24.1, 22.9, 25.7, 26.0, 23.3], {
    'two-sided': [1, 0.008658008658008658, 0.8333333333333334, 0.025974025974025972],
    less: [1, 0.004329004329004329, 0.8333333333333334, 0.012987012987012988],
    greater: [1, 0.9978354978354979, 0, 1],
  }],
  [[3.1, 1.2, 5.5, 4.0, 2.2, 6.1, 7.3], [2.5, 3.3, 8.8, 9.1, 4.4, 10.2, 1.0, 6.6], {
    'two-sided': [20, 0.39689199689199695, 0.375, 0.5076923076923078],
    less: [20, 0.19844599844599847, 0.375, 0.25827505827505826],
    greater: [20, 0.8321678321678321, 0.125, 0.8444444444444444],
  }],
  // ties: MWU falls back to the normal approximation with tie correction
  [[1, 2, 2, 3, 3, 3, 4], [2, 3, 4, 4, 5, 5, 6], {
    'two-sided': [8.5, 0.043051432728945134, 0.5714285714285714, 0.21212121212121213],
    less: [8.5, 0.021525716364472567, 0.5714285714285714, 0.10606060606060605],
    greater: [8.5, 0.9843697313699247, 0, 1],
  }],
];

test('MWU and KS agree with SciPy on small samples, every alternative', () => {
  for (const [x, y, byAlt] of scipy) {
    for (const alt of ['two-sided', 'less', 'greater'] as const) {
      const [u, pu, d, pd] = byAlt[alt];
      const mw = mannWhitneyU(x, y, alt);
      assert.equal(mw.statistic, u);
      close(mw.p, pu, 1e-6, `mwu ${alt}`);
      const ks = kolmogorovSmirnov(x, y, alt);
      close(ks.statistic, d, 1e-12, `ks D ${alt}`);
      close(ks.p, pd, 1e-9, `ks ${alt}`);
    }
  }
});

test('large samples: MWU normal approximation (with ties) and exact KS match SciPy', () => {
  const x = Array.from({ length: 60 }, (_, k) => (((k + 1) * 7919) % 997) / 100);
  const y = Array.from({ length: 70 }, (_, k) => (((k + 1) * 104729) % 991) / 100 + 1.3);
  const want: Record<Alternative, [number, number, number]> = {
    'two-sided': [0.16119938281133872, 0.1261904761904762, 0.6319813089185663],
    less: [0.08059969140566936, 0.1261904761904762, 0.32694578359509624],
    greater: [0.9200962518616416, 0, 1],
  };
  for (const alt of ['two-sided', 'less', 'greater'] as const) {
    const mw = mannWhitneyU(x, y, alt);
    assert.equal(mw.method, 'asymptotic');
    assert.equal(mw.statistic, 1799.5);
    close(mw.p, want[alt][0], 1e-5, `mwu ${alt}`);
    const ks = kolmogorovSmirnov(x, y, alt);
    assert.equal(ks.method, 'exact');
    close(ks.statistic, want[alt][1], 1e-12, `ks D ${alt}`);
    close(ks.p, want[alt][2], 1e-8, `ks ${alt}`);
  }
});

test('MWU published critical value: n1 = n2 = 5, two-sided alpha 0.05 rejects at U <= 2 only', () => {
  const dist = uDistribution(5, 5);
  const twoSided = (u: number): number => 2 * dist.slice(0, u + 1).reduce((a, b) => a + b, 0);
  assert.ok(twoSided(2) <= 0.05);
  assert.ok(twoSided(3) > 0.05);
  close(twoSided(2), 8 / 252, 1e-12, 'P(U<=2)');
});

/** Every way to pick which of n+m ranked positions belong to x. */
function* arrangements(n: number, m: number): Generator<boolean[]> {
  const total = n + m;
  for (let mask = 0; mask < 1 << total; mask++) {
    let bits = 0;
    for (let b = 0; b < total; b++) if (mask & (1 << b)) bits++;
    if (bits === n) yield Array.from({ length: total }, (_, b) => (mask & (1 << b)) !== 0);
  }
}

test('exact null distributions equal exhaustive enumeration (MWU and KS, n=4..5, m=3..6)', () => {
  for (const [n, m] of [[4, 3], [4, 6], [5, 5], [3, 6]] as const) {
    const all = [...arrangements(n, m)];
    const samples = all.map((isX) => {
      const x: number[] = [];
      const y: number[] = [];
      isX.forEach((b, rank) => (b ? x : y).push(rank));
      return { x, y };
    });
    const us = samples.map(({ x, y }) => mannWhitneyU(x, y).statistic);
    const dist = uDistribution(n, m);
    for (let u = 0; u <= n * m; u++) close(dist[u]!, us.filter((v) => v === u).length / all.length, 1e-12, `P(U=${u})`);
    for (const alt of ['two-sided', 'less', 'greater'] as const) {
      const ds = samples.map(({ x, y }) => kolmogorovSmirnov(x, y, alt).statistic);
      for (let k = 0; k < samples.length; k += 7) {
        const { x, y } = samples[k]!;
        const r = kolmogorovSmirnov(x, y, alt);
        const tail = ds.filter((d) => d >= r.statistic - 1e-12).length / all.length;
        close(r.p, tail, 1e-9, `KS ${alt} n=${n} m=${m} D=${r.statistic}`);
        const mw = mannWhitneyU(x, y, alt);
        const u = mw.statistic;
        const lo = us.filter((v) => v <= u).length / all.length;
        const hi = us.filter((v) => v >= u).length / all.length;
        const want = alt === 'less' ? lo : alt === 'greater' ? hi : Math.min(1, 2 * Math.min(lo, hi));
        close(mw.p, want, 1e-12, `MWU ${alt}`);
      }
    }
  }
});

test('limiting distributions: normal tail and Kolmogorov tail at known points', () => {
  close(normalSf(1.959963984540054), 0.025, 1e-6, 'z 0.975');
  close(normalSf(2.5758293035489), 0.005, 1e-6, 'z 0.995');
  // Kolmogorov's distribution: critical values 1.36 (5 %) and 1.63 (1 %)
  close(kolmogorovSf(1.3580986393225505), 0.05, 1e-9, 'K 0.95');
  close(kolmogorovSf(1.6276236115189087), 0.01, 1e-9, 'K 0.99');
});

test('KS asymptotic branch stays within 15 % of the exact p for large samples', () => {
  const x = Array.from({ length: 120 }, (_, k) => (((k + 1) * 7919) % 997) / 100);
  const y = Array.from({ length: 110 }, (_, k) => (((k + 1) * 104729) % 991) / 100 + 2.5);
  // SciPy's exact p-values for these samples: two-sided, and x smaller than y
  const exact = { 'two-sided': 0.0008672541546077628, less: 0.00043362707731489246 };
  for (const alt of ['two-sided', 'less'] as const) {
    const r = kolmogorovSmirnov(x, y, alt);
    assert.equal(r.method, 'asymptotic');
    close(r.statistic, 0.25530303030303036, 1e-12, 'D');
    close(r.p, exact[alt], 0.15, `asymptotic ${alt}`);
  }
});
