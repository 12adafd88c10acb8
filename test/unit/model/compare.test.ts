// The statistics of `stacklab compare` (src/model/compare.ts): mean, sample
// stddev, change %, Welch's t-test (p-values checked against scipy's
// ttest_ind(equal_var=False)), lkp's separation rule and the marks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { change, compareGroups, mark, mean, separated, studentTwoSided, summarise, variance, welch } from '../../../src/model/compare.ts';

const close = (actual: number | null, expected: number, tol: number, what: string) => {
  assert.ok(actual !== null && Math.abs(actual - expected) <= tol, `${what}: ${actual} is not ${expected} ± ${tol}`);
};

test('mean, sample variance and the relative stddev', () => {
  assert.equal(mean([]), null);
  assert.equal(mean([2, 4, 9]), 5);
  assert.equal(variance([7]), null, 'one sample has no spread');
  close(variance([2, 4, 4, 4, 5, 5, 7, 9]), 32 / 7, 1e-12, 'n − 1 variance');
  const s = summarise([90, 100, 110]);
  assert.equal(s.n, 3);
  assert.equal(s.mean, 100);
  close(s.stddev, 10, 1e-12, 'stddev');
  close(s.stddev_pct, 10, 1e-12, 'stddev %');
  assert.deepEqual([s.min, s.max], [90, 110]);
  assert.equal(summarise([0, 0]).stddev_pct, null, 'no percentage of a zero mean');
  assert.equal(summarise([5]).stddev, null);
});

test("Student's t tail and Welch's test agree with scipy", () => {
  close(studentTwoSided(2, 3), 0.13932596855884305, 1e-9, 't=2 df=3');
  close(studentTwoSided(-0.5, 1.5), 0.68056711066994, 1e-9, 't=-0.5 df=1.5');
  const w = welch([1, 2, 3, 4, 5], [2.5, 3.5, 6, 7, 8.2, 9])!;
  close(w.t, -2.389777078046951, 1e-9, 't');
  close(w.df, 8.389027431421447, 1e-9, 'df');
  close(w.p, 0.042487888730586926, 1e-9, 'p');
  const big = welch([100, 101, 99, 100.5], [110, 111, 109.5, 110.2])!;
  close(big.p, 3.192198432844278e-6, 1e-11, 'p of a clear shift');
  assert.equal(welch([1], [2, 3]), null, 'one sample: no test');
  assert.deepEqual(welch([5, 5], [5, 5, 5]), { t: 0, df: 3, p: 1 }, 'equal constants');
  assert.equal(welch([5, 5], [6, 6])!.p, 0, 'deterministic counts that differ');
});

test('change %: sign and size against the base; significance, lkp separation and the mark', () => {
  const base = [1000, 1002, 998, 1001];
  const slower = [1100, 1103, 1098, 1101];
  const c = change(base, slower);
  close(c.change_pct, 10.0, 0.05, 'a 10 % rise');
  assert.ok(c.significant && c.separated);
  assert.equal(mark(c), '**');
  const down = change(base, [900, 902, 899, 901])!;
  close(down.change_pct, -9.98, 0.05, 'a fall is negative');
  const noise = change([10, 12, 9, 11], [11, 10, 12, 9.5]);
  assert.ok(!noise.significant && !noise.separated);
  assert.equal(mark(noise), '');
  assert.equal(mark({ p: 0.03 }), '*');
  assert.equal(mark({ p: null }), '');
  assert.equal(change([0, 0], [1, 1]).change_pct, null, 'no percentage of a zero base');
  assert.ok(!separated([1, 2, 3], [1.5, 2.5, 3.5]), 'a range reaching below the other mean');
  assert.ok(separated([1, 2, 3], [2.5, 3.5, 4]), 'lkp: each range beyond the other mean is enough, overlap or not');
  assert.ok(separated([1, 2, 3], [3.5, 4, 9]));
});

test('compareGroups: one row per stat, the base first without a change, the largest significant change first', () => {
  const rows = compareGroups([
    { key: 'a', samples: { 'x.t': [100, 101, 99], 'x.calm': [5, 5.1, 4.9], 'x.only_a': [1, 1] } },
    { key: 'b', samples: { 'x.t': [130, 131, 129], 'x.calm': [5, 5.05, 4.95] } },
  ]);
  assert.deepEqual(rows.map((r) => r.stat), ['x.t', 'x.calm', 'x.only_a']);
  const t = rows[0]!;
  assert.equal(t.groups[0]!.change, null);
  close(t.groups[1]!.change!.change_pct, 30, 1e-9, 'x.t change');
  assert.deepEqual(t.groups[1]!.samples, [130, 131, 129]);
  const onlyA = rows[2]!;
  assert.equal(onlyA.groups[1]!.n, 0);
  assert.equal(onlyA.groups[1]!.change!.change_pct, null);
});
