// A small, seeded version of bench/bisect-perf.ts, to keep accuracy
// regressions out: 20 simulated 80-commit bisections of a 5 % step under
// 2 % noise. The benchmark itself runs 1000 per configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulatePerf, summarise } from '../../support/perf-sim.ts';

test('perf bisection: 5 % step under 2 % noise, 20 seeded runs, >= 90 % right', () => {
  const outcomes = Array.from({ length: 20 }, (_, i) => simulatePerf({ commits: 80, step: 0.05, noise: 0.02 }, 77_000 + i));
  const s = summarise(outcomes);
  assert.ok(s.accuracy >= 0.9, `accuracy ${s.accuracy}`);
  assert.ok(s.meanSamples < 60, `samples ${s.meanSamples}`);
});

test('perf bisection under bimodal, heavy-tailed and (with interleaved ends) drifting noise, 20 seeded runs each, >= 85 % right', () => {
  for (const [shape, spec] of [['bimodal', {}], ['heavy-tailed', {}], ['drift', { interleaveEnds: true }]] as const) {
    const outcomes = Array.from({ length: 20 }, (_, i) => simulatePerf({ commits: 80, step: 0.05, noise: 0.02, shape, spec }, 88_000 + i));
    const s = summarise(outcomes);
    assert.ok(s.accuracy >= 0.85, `${shape}: accuracy ${s.accuracy}`);
  }
});
