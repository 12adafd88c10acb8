// Several probes per round: K probes cut the candidates into K+1 parts of
// about equal size; cached builds win near-ties only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectProbes, splitCost } from '../../../src/bisect/select.ts';
import { graphOf } from '../../../src/bisect/graph.ts';
import { bits, clearBit, setBit, type Bits } from '../../../src/bisect/bitset.ts';
import { linear, sha } from './helpers.ts';

function everything(size: number): Bits {
  const b = bits(size);
  for (let i = 0; i < size; i++) setBit(b, i);
  return b;
}

/** The c-numbers of the chosen probes on linear(n), sorted. */
function probes(n: number, slots: number, cached?: (s: string) => boolean, rank?: (s: string) => number | undefined): number[] {
  const dag = linear(n);
  const g = graphOf(dag);
  const open = everything(g.size);
  clearBit(open, g.index.get(dag.bad)!);
  const chosen = selectProbes(g, { remaining: everything(g.size), open, fixed: [], skipped: new Set(), bad: g.index.get(dag.bad)!, slots, cacheRank: rank ?? (cached ? (s) => (cached(s) ? 0 : undefined) : undefined) });
  return chosen.map((i) => n - i).sort((a, b) => a - b);
}

test('one probe is git\'s pick', () => {
  assert.deepEqual(probes(100, 1), [50]);
});

test('K probes split a linear history into K+1 nearly equal parts', () => {
  for (const [n, k] of [[100, 3], [100, 2], [60, 5], [30, 7]] as const) {
    const cuts = probes(n, k);
    assert.equal(cuts.length, k);
    const parts = [cuts[0]!, ...cuts.slice(1).map((c, i) => c - cuts[i]!), n - cuts[k - 1]!];
    const ideal = n / (k + 1);
    for (const p of parts) assert.ok(Math.abs(p - ideal) <= 2, `n=${n} k=${k}: parts ${parts.join(',')}`);
  }
});

test('the split cost is the sum of squared class sizes', () => {
  const dag = linear(10);
  const g = graphOf(dag);
  const c5 = g.index.get(sha('c5'))!;
  assert.equal(splitCost(g, everything(g.size), [c5]), 5 * 5 + 5 * 5);
  assert.equal(splitCost(g, everything(g.size), []), 100);
});

test('a cached commit wins a near-tie but not a clearly worse split', () => {
  // c11 leaves 11/9 instead of 10/10: 1 % more expected work, within the 2 % default
  assert.deepEqual(probes(20, 1, (s) => s === sha('c11')), [11]);
  // c14 leaves 14/6: 16 % more, git's pick stays
  assert.deepEqual(probes(20, 1, (s) => s === sha('c14')), [10]);
});

test('among cached near-ties the earliest built wins, even over a cached git pick', () => {
  // c10 is git's pick and cached, c11 was cached earlier and is within 2 %: a repeat of a bisect retraces its path.
  const rank = (s: string) => (s === sha('c10') ? 5 : s === sha('c11') ? 1 : undefined);
  assert.deepEqual(probes(20, 1, undefined, rank), [11]);
  // Outside the tolerance the rank does not matter.
  const far = (s: string) => (s === sha('c10') ? 5 : s === sha('c14') ? 1 : undefined);
  assert.deepEqual(probes(20, 1, undefined, far), [10]);
});

test('more slots than commits: every open commit once', () => {
  assert.deepEqual(probes(4, 10), [1, 2, 3]);
});
