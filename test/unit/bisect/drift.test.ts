// The machine's drift as interleaved ends show it (src/bisect/drift.ts):
// tracked when the machine drifts, left alone when it is steady, and a
// drifting bisect with interleaveEnds as right as a steady one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateDrift, type EndSample } from '../../../src/bisect/drift.ts';
import { prng } from '../../support/prng.ts';
import { simulatePerf, summarise } from '../../support/perf-sim.ts';

/** Two ends sampled once a round (100 and 105), Gaussian noise of sd 2, plus drift(round). */
function ends(rounds: number, seed: number, drift: (round: number) => number): EndSample[][] {
  const rand = prng(seed);
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return [100, 105].map((level, e) => Array.from({ length: rounds }, (_, r) => ({ value: level + drift(r) + 2 * normal(), round: r, key: `${e}:${r}` })));
}

test('a drifting machine: the estimate follows the drift, and the factor is near 1', () => {
  const swing = (r: number): number => 4 * Math.sin((2 * Math.PI * r) / 20);
  const d = estimateDrift(ends(40, 1, swing));
  assert.ok(d.factor > 0.7, `factor ${d.factor}`);
  let err = 0;
  let raw = 0;
  for (let r = 0; r < 40; r++) {
    err += Math.abs(d.at(r) - swing(r));
    raw += Math.abs(swing(r));
  }
  // the samples' drift is mostly taken out (what is left is noise of the estimate and its lag)
  assert.ok(err < raw / 2, `mean error ${(err / 40).toFixed(2)} against mean drift ${(raw / 40).toFixed(2)}`);
});

test('a steady machine: nothing is taken out of its samples (over 20 seeds, at most a small factor)', () => {
  const factors = Array.from({ length: 20 }, (_, s) => estimateDrift(ends(40, 100 + s, () => 0)).factor);
  const mean = factors.reduce((a, b) => a + b, 0) / factors.length;
  assert.ok(mean < 0.2, `mean factor ${mean.toFixed(2)}: ${factors.map((f) => f.toFixed(2)).join(' ')}`);
});

test("an end's own sample is left out of the drift its adjustment uses", () => {
  const samples = ends(20, 7, (r) => 4 * Math.sin((2 * Math.PI * r) / 20));
  samples[0]![5]!.value += 8; // one high sample of the good end at round 5
  const d = estimateDrift(samples);
  assert.ok(d.factor > 0, `factor ${d.factor}`);
  assert.ok(d.at(5, '0:5') < d.at(5), `${d.at(5, '0:5')} vs ${d.at(5)}`);
  // and one round alone says nothing about a drift
  assert.equal(estimateDrift([[{ value: 1, round: 0, key: 'a' }], [{ value: 2, round: 0, key: 'b' }]]).factor, 0);
});

test('perf bisection with interleaved ends on a drifting machine: 200 seeded runs, >= 95 % right', () => {
  const outcomes = Array.from({ length: 200 }, (_, i) => simulatePerf({ commits: 80, step: 0.05, noise: 0.02, shape: 'drift', spec: { interleaveEnds: true } }, 88_000 + i));
  const s = summarise(outcomes);
  // 93 % with the ends' samples only pooled, as before the drift was estimated
  assert.ok(s.accuracy >= 0.95, `accuracy ${s.accuracy}`);
});
