// The engine end to end with oracles instead of a lab: it finds the first
// bad commit over merges, with one or several probes per round, handles
// skips and infra failures, and resumes identically from its log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBisect, next, record, replay, status } from '../../../src/bisect/engine.ts';
import type { BisectSpec, Dag, Observation, Step } from '../../../src/bisect/types.ts';
import { dagOf, drive, linear, prng, regressionAt, sha } from './helpers.ts';

/** A random history with branches and merges, newest first, on top of good commit g. */
function randomDag(seed: number, n: number): Dag {
  const rand = prng(seed);
  const names = Array.from({ length: n }, (_, i) => `n${i}`);
  const parents: string[][] = [['g']];
  for (let i = 1; i < n; i++) {
    const p = [names[Math.max(0, i - 1 - Math.floor(rand() * 4))]!];
    if (rand() < 0.25 && i > 2) {
      const q = names[Math.floor(rand() * (i - 1))]!;
      if (!p.includes(q)) p.push(q);
    }
    parents.push(p);
  }
  // one tip that reaches everything
  const tips = names.filter((nm) => !parents.some((ps) => ps.includes(nm)));
  const lines = [`tip: ${tips.join(' ')}`, ...names.map((nm, i) => `${nm}: ${parents[i]!.join(' ')}`).reverse()];
  return dagOf(lines, 'tip', ['g']);
}

test('finds every possible culprit in random merge histories, with 1 and 3 probes per round', () => {
  for (let seed = 1; seed <= 6; seed++) {
    const dag = randomDag(seed, 25);
    let rounds1 = 0;
    let rounds3 = 0;
    for (const c of dag.commits) {
      const one = drive(dag, { criterion: 'function' }, regressionAt(dag, c.sha));
      assert.equal(one.result.first_bad, c.sha, `seed ${seed}`);
      assert.equal(one.result.reason, 'found');
      const three = drive(dag, { criterion: 'build' }, regressionAt(dag, c.sha), 3);
      assert.equal(three.result.first_bad, c.sha);
      assert.ok(three.rounds.every((r) => r.filter((p) => p.why === 'search').length <= 3));
      rounds1 += one.result.rounds;
      rounds3 += three.result.rounds;
    }
    assert.ok(rounds3 < rounds1, `seed ${seed}: ${rounds3} rounds with 3 probes vs ${rounds1} with one`);
  }
});

test('first-parent: only the first-parent chain is searched', () => {
  const dag = dagOf(['m2: m1 b2', 'b2: b1', 'b1: g', 'm1: a', 'a: g'], 'm2', ['g'], true);
  // a side-branch regression shows up at the merge that brought it in
  const r = drive(dag, { criterion: 'function' }, regressionAt(dagOf(['m2: m1 b2', 'b2: b1', 'b1: g', 'm1: a', 'a: g'], 'm2', ['g']), sha('b1')));
  assert.equal(r.result.first_bad, sha('m2'));
  assert.ok(r.rounds.flat().every((p) => ![sha('b1'), sha('b2')].includes(p.sha)));
});

test('skipped commits are left out; only skipped ones left gives the range', () => {
  const dag = linear(16);
  const bad = regressionAt(dag, sha('c7'));
  const untestable = new Set([sha('c6'), sha('c7')]);
  const r = drive(dag, { criterion: 'function' }, (s) => (untestable.has(s) ? { outcome: 'skip' } : bad(s)));
  assert.equal(r.result.first_bad, null);
  assert.equal(r.result.reason, 'only-skipped');
  assert.deepEqual(new Set(r.result.candidates), new Set([sha('c6'), sha('c7'), sha('c8')]));
  assert.deepEqual(new Set(r.result.skipped), new Set([sha('c6'), sha('c7')]));
  // a skip that is not the culprit's parent does not hide it
  const r2 = drive(dag, { criterion: 'function' }, (s) => (s === sha('c8') ? { outcome: 'skip' } : regressionAt(dag, sha('c10'))(s)));
  assert.equal(r2.result.first_bad, sha('c10'));
  assert.deepEqual(r2.result.skipped, [sha('c8')]);
});

test('infra failures are never evidence: the run stays owed until a real one arrives', () => {
  const dag = linear(8);
  const state = createBisect(dag, { criterion: 'function' });
  const first = next(state, 1);
  assert.ok('probes' in first);
  const target = first.probes[0]!.sha;
  record(state, target, { outcome: 'infra' });
  const again = next(state, 1);
  assert.deepEqual(again, { wait: [{ sha: target, runs: 1, why: 'search' }] });
  record(state, target, { outcome: 'bad' });
  let step: Step = next(state, 1);
  const oracle = regressionAt(dag, sha('c3'));
  while ('probes' in step) {
    for (const p of step.probes) for (let k = 0; k < p.runs; k++) record(state, p.sha, oracle(p.sha));
    step = next(state, 1);
  }
  assert.ok('done' in step);
  const ev = step.done.evidence.find((e) => e.sha === target)!;
  assert.deepEqual(ev.outcomes.slice(0, 2), ['infra', 'bad']);
  assert.equal(step.done.samples, step.done.evidence.reduce((n, e) => n + e.outcomes.filter((o) => o !== 'infra').length, 0));
});

test('majority rule with --repeat: the majority decides, a tie asks for one more run', () => {
  const dag = linear(12);
  const truth = regressionAt(dag, sha('c5'));
  // every commit's second run lies
  const flaky = (s: string, nth: number): Observation => (nth === 1 ? { outcome: truth(s).outcome === 'bad' ? 'good' : 'bad' } : truth(s));
  const r = drive(dag, { criterion: 'function', rule: 'majority', repeat: 3 }, flaky);
  assert.equal(r.result.first_bad, sha('c5'));
  // with two runs per probe each commit ties 1–1 and needs a third
  const r2 = drive(dag, { criterion: 'function', rule: 'majority', repeat: 2 }, flaky);
  assert.equal(r2.result.first_bad, sha('c5'));
  assert.ok(r2.rounds.flat().some((p) => p.why === 'more'));
  assert.ok(r2.result.confidence < r.result.confidence + 1e-9 || r2.result.confidence < 0.99);
});

test('majority rule: consistent deterministic runs give a high confidence; the culprit and its parent are confirmed', () => {
  const dag = linear(12);
  const truth = regressionAt(dag, sha('c5'));
  const clean = drive(dag, { criterion: 'function', rule: 'majority' }, truth);
  assert.ok(clean.result.confidence > 0.95, `confidence ${clean.result.confidence}`);
  assert.equal(clean.runs, clean.result.samples);
  // the confirmation rounds re-ran the culprit and its parent
  const last = clean.rounds[clean.rounds.length - 1]!;
  assert.deepEqual(last.map((p) => [p.sha, p.why]), [[sha('c5'), 'confirm'], [sha('c4'), 'confirm']]);
});

test('build failures under function/perf criteria are skips, never blame', () => {
  const dag = linear(10);
  const truth = regressionAt(dag, sha('c7'));
  // c5 is probed first (git's pick) and cannot be built
  const r = drive(dag, { criterion: 'function' }, (s) => (s === sha('c5') ? { outcome: 'skip' } : truth(s)));
  assert.equal(r.result.first_bad, sha('c7'));
  const c5 = r.result.evidence.find((e) => e.sha === sha('c5'));
  assert.equal(c5?.verdict, 'skip');
});

function perfOracle(dag: Dag, culprit: string, seed: number, step = 0.05, noise = 0.02): (s: string) => Observation {
  const bad = regressionAt(dag, culprit);
  const rand = prng(seed);
  return (s) => {
    const z = Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
    return { outcome: 'good', value: 100 * (1 + (bad(s).outcome === 'bad' ? step : 0)) + 100 * noise * z };
  };
}

test('perf: ends measured first, verdicts carry p-values, the culprit is confirmed', () => {
  const dag = linear(30);
  const r = drive(dag, { criterion: 'perf', direction: 'lower', metric: 'latency' }, perfOracle(dag, sha('c17'), 3));
  assert.equal(r.result.first_bad, sha('c17'));
  assert.ok(r.rounds[0]!.every((p) => p.why === 'end'));
  const c17 = r.result.evidence.find((e) => e.sha === sha('c17'))!;
  assert.equal(c17.verdict, 'bad');
  assert.ok(c17.p_values!.vs_good <= 0.01);
  assert.ok(c17.samples!.length >= 2);
  assert.ok(r.result.confidence > 0.9);
  // higher-is-better reads the same data the other way round: then nothing regressed
  const flipped = drive(dag, { criterion: 'perf', direction: 'higher' }, perfOracle(dag, sha('c17'), 3));
  assert.equal(flipped.result.first_bad, null);
  assert.equal(flipped.result.reason, 'no-regression');
});

test('perf: a commit that cannot be measured is skipped, not blamed', () => {
  const dag = linear(20);
  const measure = perfOracle(dag, sha('c11'), 5);
  const r = drive(dag, { criterion: 'perf', direction: 'lower' }, (s) => (s === sha('c10') ? { outcome: 'skip' } : measure(s)));
  assert.equal(r.result.first_bad, null);
  assert.deepEqual(new Set(r.result.candidates), new Set([sha('c10'), sha('c11')]));
});

test('replay: a state rebuilt from JSON or from its log takes the same next step, at every point', () => {
  const dag = dagOf(['m: b2 c1', 'c1: a', 'b2: b1', 'b1: a', 'a: g'].concat([]), 'm', ['g']);
  const big = linear(40);
  for (const [d, spec, slots] of [[dag, { criterion: 'function' }, 2], [big, { criterion: 'perf', direction: 'higher' }, 3], [big, { criterion: 'function', repeat: 2 }, 1]] as [Dag, BisectSpec, number][]) {
    const measure = spec.criterion === 'perf' ? perfOracle(d, d.commits[25]?.sha ?? sha('c1'), 11, -0.05) : regressionAt(d, d.commits[1]!.sha);
    const state = createBisect(d, spec);
    for (let i = 0; i < 200; i++) {
      const fromJson = JSON.parse(JSON.stringify(state));
      const fromLog = replay(d, spec, state.log);
      const live = next(state, slots);
      assert.deepEqual(next(fromJson, slots), live);
      assert.deepEqual(next(fromLog, slots), live);
      assert.deepEqual(status(fromLog), status(state));
      if ('done' in live) break;
      if ('wait' in live) assert.fail('nothing owed here');
      // report half of the round, check the resumed state waits for the rest, then the other half
      const runs = live.probes.flatMap((p) => Array.from({ length: p.runs }, () => p.sha));
      const half = Math.ceil(runs.length / 2);
      runs.slice(0, half).forEach((s) => record(state, s, measure(s)));
      if (half < runs.length) {
        const waiting = next(state, slots);
        assert.ok('wait' in waiting);
        assert.deepEqual(next(replay(d, spec, state.log), slots), waiting);
      }
      runs.slice(half).forEach((s) => record(state, s, measure(s)));
    }
  }
});

test('bad input is refused', () => {
  const dag = linear(4);
  assert.throws(() => createBisect(dag, { criterion: 'perf' }), /direction/);
  assert.throws(() => createBisect(dag, { criterion: 'function', repeat: 0 }), /repeat/);
  const state = createBisect(dag, { criterion: 'function' });
  assert.throws(() => record(state, sha('c2'), { outcome: 'good' }), /no probe/);
  assert.throws(() => next(state, 0), /slots/);
});

test('majority rule: contradicting verdicts in one round are measured again instead of giving up', () => {
  const dag = linear(30);
  const truth = regressionAt(dag, sha('c20'));
  // the first probe of the first round lies once: bad below a good probe
  const liar = sha('c7');
  const r = drive(dag, { criterion: 'function', rule: 'majority' }, (s, nth) => (s === liar && nth === 0 ? { outcome: 'bad' } : truth(s)), 3);
  assert.ok(r.rounds[0]!.some((p) => p.sha === liar), 'the liar is probed in the first round');
  assert.equal(r.result.first_bad, sha('c20'));
  assert.ok(r.rounds.flat().some((p) => p.sha === liar && p.why === 'more'));
  // one bad, one good run: no longer blamed, and no longer worth more runs once c15 is good
  const ev = r.result.evidence.find((e) => e.sha === liar)!;
  assert.deepEqual(ev.outcomes, ['bad', 'good']);
  assert.equal(ev.verdict, 'pending');
});
