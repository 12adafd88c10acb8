// A small, seeded version of bench/bisect-flaky.ts, to keep accuracy and
// calibration regressions out: 80-commit linear histories, a test that
// fails half the time after the culprit. The benchmark runs 30 per row and
// 200 per calibration row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flakyScenario, linearHistory, mergeHistory, simulateFlaky } from '../../support/flaky-sim.ts';

test('flaky p = 0.5: 16 seeded bisects on lines and merges, all right, every answer at >= 0.95, fewer runs than git bayesect', () => {
  const outs = Array.from({ length: 16 }, (_, i) => simulateFlaky(flakyScenario(i % 2 ? linearHistory(80) : mergeHistory(150, 500 + i), 3000 + i, 0.5), { criterion: 'function' }, 4000 + i));
  assert.ok(outs.every((o) => o.right), `right ${outs.filter((o) => o.right).length}/16`);
  assert.ok(outs.every((o) => o.confidence >= 0.95 && o.result.stop === 'confidence'));
  const runs = outs.reduce((n, o) => n + o.runs, 0) / outs.length;
  assert.ok(runs < 52, `mean runs ${runs}`);
});

test('one run per commit, as git bisect does, is mostly wrong at p = 0.5: the baseline the rule is measured against', () => {
  const outs = Array.from({ length: 16 }, (_, i) => simulateFlaky(flakyScenario(linearHistory(80), 3000 + i, 0.5), { criterion: 'function', rule: 'majority', confirm: false }, 4000 + i));
  assert.ok(outs.filter((o) => o.right).length <= 6);
});
