// The Bayesian rule: its posterior against brute force, git's answer and
// cost for a deterministic bug, ends that lie, K probes per round, the
// budget, and replay from the log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBisect, next, record, replay, status } from '../../../src/bisect/engine.ts';
import { graphOf } from '../../../src/bisect/graph.ts';
import { hasBit } from '../../../src/bisect/bitset.ts';
import { posteriorOf, type RateModel, type Tally } from '../../../src/bisect/bayes/posterior.ts';
import { GainModel } from '../../../src/bisect/bayes/gain.ts';
import { confidenceOf } from '../../../src/bisect/bayes/confidence.ts';
import { JEFFREYS, logMarginal, probGreater } from '../../../src/bisect/bayes/rates.ts';
import type { BisectSpec, Dag, LogEntry, Observation } from '../../../src/bisect/types.ts';
import { dagOf, drive, linear, prng, regressionAt, sha } from './helpers.ts';

const oneSided: RateModel = { twoSided: false, newRate: JEFFREYS, oldRate: JEFFREYS };
const twoSided: RateModel = { twoSided: true, newRate: JEFFREYS, oldRate: JEFFREYS };

/** A random history with branches and merges on top of good commit g. */
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
  const tips = names.filter((nm) => !parents.some((ps) => ps.includes(nm)));
  return dagOf([`tip: ${tips.join(' ')}`, ...names.map((nm, i) => `${nm}: ${parents[i]!.join(' ')}`).reverse()], 'tip', ['g']);
}

test('the Beta–Bernoulli marginal equals the integral it stands for', () => {
  // ∫ p^f (1-p)^s Beta(½,½)(p) dp by the midpoint rule on a fine grid, with p = sin² t to tame the ends
  for (const [f, s] of [[0, 0], [1, 0], [0, 3], [4, 2], [7, 11]] as const) {
    let sum = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const t = ((i + 0.5) / n) * (Math.PI / 2);
      const p = Math.sin(t) ** 2;
      sum += p ** f * (1 - p) ** s * (2 / Math.PI) * (Math.PI / 2 / n);
    }
    assert.ok(Math.abs(Math.exp(logMarginal(JEFFREYS, f, s)) - sum) < 1e-9, `f=${f} s=${s}`);
  }
  // P(rate x > rate y): symmetric counts give one half, lopsided ones near 1
  assert.ok(Math.abs(probGreater({ fails: 3, passes: 3 }, { fails: 3, passes: 3 }) - 0.5) < 1e-9);
  assert.ok(probGreater({ fails: 9, passes: 1 }, { fails: 1, passes: 9 }) > 0.999);
});

test('the posterior sums to 1 and equals brute force over every hypothesis, one- and two-sided', () => {
  for (let seed = 1; seed <= 8; seed++) {
    const dag = randomDag(seed, 18);
    const g = graphOf(dag);
    const rand = prng(100 + seed);
    const culprit = Math.floor(rand() * g.size);
    for (const model of [oneSided, twoSided]) {
      const tallies: Tally[] = [{ node: undefined, fails: model.twoSided ? 1 : 0, passes: 3 }];
      for (let k = 0; k < 8; k++) {
        const x = Math.floor(rand() * g.size);
        const bad = hasBit(g.ancestors[x]!, culprit);
        const runs = 1 + Math.floor(rand() * 3);
        let fails = 0;
        for (let r = 0; r < runs; r++) if (rand() < (bad ? 0.7 : model.twoSided ? 0.15 : 0)) fails++;
        tallies.push({ node: x, fails, passes: runs - fails });
      }
      const post = posteriorOf(g, tallies, model);
      const total = post.mass.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(total - 1) < 1e-12, `seed ${seed}: sums to ${total}`);
      // brute force: each hypothesis on its own, every run classified as after or before it
      const logs = Array.from({ length: g.size }, (_, h) => {
        let [fa, pa, fb, pb] = [0, 0, 0, 0];
        for (const t of tallies) {
          if (t.node !== undefined && hasBit(g.ancestors[t.node]!, h)) [fa, pa] = [fa + t.fails, pa + t.passes];
          else [fb, pb] = [fb + t.fails, pb + t.passes];
        }
        if (!model.twoSided && fb > 0) return -Infinity;
        return logMarginal(JEFFREYS, fa, pa) + (model.twoSided ? logMarginal(JEFFREYS, fb, pb) : 0);
      });
      const top = Math.max(...logs);
      const z = logs.reduce((a, l) => a + Math.exp(l - top), 0);
      for (let h = 0; h < g.size; h++) assert.ok(Math.abs(post.mass[h]! - Math.exp(logs[h]! - top) / z) < 1e-12, `seed ${seed} h ${h}`);
      // the robust confidence never claims more than the posterior
      for (let h = 0; h < g.size; h++) assert.ok(confidenceOf({ model, post }, h) <= post.mass[h]! + 1e-15);
    }
  }
});

test('a deterministic bug: git\'s answer by git\'s search, confirmed at >= 0.95; --deterministic costs git\'s runs + 2 at most', () => {
  for (let seed = 1; seed <= 5; seed++) {
    const dag = randomDag(seed, 30);
    for (const c of dag.commits) {
      const truth = regressionAt(dag, c.sha);
      const git = drive(dag, { criterion: 'function', rule: 'majority', confirm: false }, truth);
      const flaky = drive(dag, { criterion: 'function' }, truth);
      assert.equal(flaky.result.first_bad, c.sha, `seed ${seed}`);
      assert.equal(flaky.result.stop, 'confidence');
      assert.ok(flaky.result.confidence >= 0.95);
      // the same probes as git, in the same order, before any confirmation
      const searched = flaky.rounds.flat().map((p) => p.sha).slice(0, git.runs);
      assert.deepEqual(searched, git.rounds.flat().map((p) => p.sha));
      const det = drive(dag, { criterion: 'function', deterministic: true }, truth);
      assert.equal(det.result.first_bad, c.sha);
      assert.equal(det.result.confidence, 1);
      assert.ok(det.runs <= git.runs + 2, `seed ${seed}: ${det.runs} runs vs git's ${git.runs}`);
    }
  }
});

test('build is deterministic by default: a flaky build run is a contradiction, not a wrong culprit', () => {
  const dag = linear(20);
  const truth = regressionAt(dag, sha('c12'));
  const clean = drive(dag, { criterion: 'build' }, truth);
  assert.equal(clean.result.first_bad, sha('c12'));
  assert.equal(clean.result.confidence, 1);
  // c11 (good) fails once out of the blue: no first bad commit explains that and the later pass
  const lie = drive(dag, { criterion: 'build' }, (s, nth) => (s === sha('c11') && nth === 1 ? { outcome: 'bad' } : truth(s)));
  assert.equal(lie.result.first_bad, null);
  assert.equal(lie.result.reason, 'inconsistent');
});

test('ends that lie: a bad end that tests good names no culprit and says why (function, two-sided, build, majority, perf)', () => {
  const dag = linear(30);
  const good = (): Observation => ({ outcome: 'good' });
  for (const spec of [{ criterion: 'function' }, { criterion: 'function', falsePositives: true }, { criterion: 'build' }, { criterion: 'function', rule: 'majority' }] as BisectSpec[]) {
    const r = drive(dag, spec, good);
    assert.equal(r.result.first_bad, null, JSON.stringify(spec));
    assert.equal(r.result.reason, 'no-regression', JSON.stringify(spec));
    assert.match(r.result.message!, /the bad end (tested good|passed|failed 0 of)/, JSON.stringify(spec));
    const end = r.result.evidence.find((e) => e.end === 'bad')!;
    assert.equal(end.verdict, 'good');
  }
  // one-sided: the bad end is run endRuns times before giving up, and the message bounds the rate
  const r = drive(dag, { criterion: 'function', endRuns: 12 }, good);
  assert.equal(r.result.evidence.find((e) => e.end === 'bad')!.outcomes.length, 12);
  assert.match(r.result.message!, /^the bad end tested good 12 times: no regression in this range, or it fails less often than 22 % of runs \(95 % bound\)\.$/);
  // the break was fixed later: c8..c15 fail, the bad end passes
  const fixed = drive(dag, { criterion: 'function' }, (s) => {
    const i = Number(dag.commits.find((c) => c.sha === s) ? 30 - dag.commits.findIndex((c) => c.sha === s) : 0);
    return { outcome: i >= 8 && i <= 15 ? 'bad' : 'good' };
  });
  assert.equal(fixed.result.first_bad, null);
  assert.match(fixed.result.message!, /was the failure fixed later in the range\?/);
  // perf: ends that measure alike
  const rand = prng(3);
  const flat = drive(dag, { criterion: 'perf', direction: 'lower', metric: 'ms' }, () => ({ outcome: 'good', value: 100 + rand() }));
  assert.equal(flat.result.first_bad, null);
  assert.equal(flat.result.reason, 'no-regression');
  assert.match(flat.result.message!, /^the bad end is not measurably worse than the good end in ms/);
});

test('sure of the commit but the ends not shown (two-sided): the next runs go to the ends, not to more search', () => {
  const dag = linear(30);
  const spec: BisectSpec = { criterion: 'function', falsePositives: true };
  // c15 fails every time and c14 never: the search is sure of c15; the bad end failed 1 of 3, the good end 2 of 4
  const runs: [string, string][] = [['c14', 'pppppppppppp'], ['c15', 'FFFFFFFFFFFF'], ['c30', 'Fpp'], ['c0', 'FFpp']];
  const log: LogEntry[] = [{ kind: 'round', probes: runs.map(([c, o]) => ({ sha: sha(c), runs: o.length, why: 'search' as const })) }];
  for (const [c, o] of runs) for (const x of o) log.push({ kind: 'run', sha: sha(c), obs: { outcome: x === 'F' ? 'bad' : 'good' } });
  const state = replay(dag, spec, log);
  const best = status(state).best!;
  assert.equal(best.sha, sha('c15'));
  assert.ok(best.p >= 0.95, `p = ${best.p}`);
  const two = next(replay(dag, spec, log), 2);
  assert.ok('probes' in two);
  assert.deepEqual(two.probes.map((p) => p.sha).sort(), [sha('c30'), sha('c0')].sort(), 'both ends, one run each');
  // one box: the ends only, the one with fewer runs first, until the bad end fails more often than the good end
  const asked: string[] = [];
  for (;;) {
    const step = next(state, 1);
    if ('done' in step) {
      assert.equal(step.done.first_bad, sha('c15'));
      break;
    }
    assert.ok('probes' in step);
    for (const p of step.probes) {
      asked.push(p.sha);
      for (let k = 0; k < p.runs; k++) record(state, p.sha, { outcome: p.sha === sha('c30') ? 'bad' : 'good' });
    }
  }
  assert.equal(asked[0], sha('c30'));
  assert.ok(asked.length > 0 && asked.every((x) => x === sha('c30') || x === sha('c0')), asked.join(' '));
});

test('a good end that fails: no culprit, and the message says the good end failed', () => {
  const dag = linear(16);
  const r = drive(dag, { criterion: 'function' }, () => ({ outcome: 'bad' }));
  assert.equal(r.result.first_bad, null);
  assert.equal(r.result.reason, 'inconsistent');
  assert.match(r.result.message!, /^the good end [0-9a-f]{12} failed 1 time\(s\): it is not good, or the test also fails before the regression/);
});

test('K probes: one round asks for K runs, a flat posterior gets K different commits, a narrow one repeats runs', () => {
  const dag = linear(60);
  const g = graphOf(dag);
  const gain = new GainModel(oneSided);
  const flat = posteriorOf(g, [{ node: g.index.get(dag.bad)!, fails: 1, passes: 0 }], oneSided);
  const all = Array.from({ length: g.size }, (_, i) => i);
  const pick = (k: number) => gain.select(g, flat, { candidates: all, slots: k, unit: 1, fixed: [], addToFixed: true, tolerance: 0.02 });
  const three = pick(3);
  assert.equal(three.reduce((n, p) => n + p.runs, 0), 3);
  assert.equal(new Set(three.map((p) => p.node)).size, 3);
  // spread over the history, not bunched: each cuts off a different part of the candidates
  const at = three.map((p) => 60 - p.node!).sort((x, y) => x - y);
  assert.ok(at[1]! - at[0]! >= 5 && at[2]! - at[1]! >= 5, `probes at ${at.join(', ')}`);
  // a posterior between two commits only: runs go to them, repeated
  const tallies: Tally[] = [];
  for (let i = 31; i <= 59; i += 4) tallies.push({ node: g.index.get(sha(`c${i}`))!, fails: 1, passes: 0 });
  tallies.push({ node: g.index.get(sha('c30'))!, fails: 1, passes: 0 }, { node: g.index.get(sha('c29'))!, fails: 0, passes: 1 }, { node: g.index.get(sha('c28'))!, fails: 0, passes: 3 });
  const narrow = posteriorOf(g, tallies, oneSided);
  const runs = gain.select(g, narrow, { candidates: all, slots: 4, unit: 1, fixed: [], addToFixed: true, tolerance: 0.02 });
  assert.equal(runs.reduce((n, p) => n + p.runs, 0), 4);
  assert.ok(runs.some((p) => p.runs > 1), `runs ${JSON.stringify(runs)}`);
  assert.ok(runs.every((p) => [29, 30, 28].includes(60 - p.node!)), `runs ${JSON.stringify(runs.map((p) => 60 - p.node!))}`);
});

test('K probes: near-ties go to the cached commit built earliest', () => {
  const dag = linear(40);
  const g = graphOf(dag);
  const gain = new GainModel(oneSided);
  const flat = posteriorOf(g, [{ node: g.index.get(dag.bad)!, fails: 2, passes: 0 }], oneSided);
  const all = Array.from({ length: g.size }, (_, i) => i);
  const base = gain.select(g, flat, { candidates: all, slots: 1, unit: 1, fixed: [], addToFixed: true, tolerance: 0.02 })[0]!.node!;
  const neighbour = base + 1;
  const far = Math.max(0, base - 15);
  const rank = (node: number) => (node === neighbour ? 1 : node === far ? 0 : undefined);
  const cached = gain.select(g, flat, { candidates: all, slots: 1, unit: 1, fixed: [], addToFixed: true, tolerance: 0.02, cacheRank: rank })[0]!.node!;
  assert.equal(cached, neighbour, 'the cached neighbour is within 2 %, the far one is not');
});

test('a flaky test through the engine: K = 3 rounds, infra never evidence, replay from the log or JSON takes the same step at every point', () => {
  const dag = randomDag(7, 40);
  const culprit = dag.commits[17]!.sha;
  const bad = regressionAt(dag, culprit);
  for (const spec of [{ criterion: 'function' }, { criterion: 'function', falsePositives: true }] as BisectSpec[]) {
    const rand = prng(99);
    const state = createBisect(dag, spec);
    let done = null;
    for (let i = 0; i < 400 && done === null; i++) {
      const fromJson = JSON.parse(JSON.stringify(state));
      const fromLog = replay(dag, spec, state.log);
      assert.deepEqual(status(fromLog), status(state));
      const live = next(state, 3);
      assert.deepEqual(next(fromJson, 3), live);
      assert.deepEqual(next(fromLog, 3), live);
      if ('done' in live) done = live.done;
      else if ('probes' in live) {
        assert.ok(live.probes.reduce((n, p) => n + p.runs, 0) <= 3 + 2, 'K runs, plus the ends while they are owed');
        for (const p of live.probes) {
          if (rand() < 0.1) record(state, p.sha, { outcome: 'infra' });
          for (let k = 0; k < p.runs; k++) record(state, p.sha, { outcome: bad(p.sha).outcome === 'bad' ? (rand() < 0.6 ? 'bad' : 'good') : spec.falsePositives && rand() < 0.1 ? 'bad' : 'good' });
        }
      }
    }
    assert.ok(done, 'finished');
    assert.equal(done.first_bad, culprit, JSON.stringify(spec));
    assert.equal(done.samples, done.evidence.reduce((n, e) => n + e.outcomes.filter((o) => o !== 'infra').length, 0));
  }
});

test('the budget: when the runs run out the most likely commit is a best guess, marked so', () => {
  const dag = linear(60);
  const truth = regressionAt(dag, sha('c23'));
  const rand = prng(5);
  const r = drive(dag, { criterion: 'function', budget: 25 }, (s) => (truth(s).outcome === 'bad' && rand() < 0.3 ? { outcome: 'bad' } : { outcome: 'good' }));
  assert.ok(r.result.samples <= 25);
  if (r.result.first_bad !== null) {
    assert.equal(r.result.stop, 'budget');
    assert.ok(r.result.confidence < 0.95);
    assert.match(r.result.message!, /^no commit reached 0\.95 within 25 runs; the most likely first bad commit is/);
  } else assert.equal(r.result.reason, 'no-regression');
});

test('untestable commits: with a flaky test too, a range that no run can split is the answer', () => {
  const dag = linear(20);
  const truth = regressionAt(dag, sha('c9'));
  const untestable = new Set([sha('c8'), sha('c9')]);
  const rand = prng(8);
  const r = drive(dag, { criterion: 'function' }, (s) => (untestable.has(s) ? { outcome: 'skip' } : truth(s).outcome === 'bad' && rand() < 0.5 ? { outcome: 'bad' } : { outcome: 'good' }));
  assert.equal(r.result.first_bad, null);
  assert.equal(r.result.reason, 'only-skipped');
  assert.deepEqual(new Set(r.result.candidates), new Set([sha('c8'), sha('c9'), sha('c10')]));
  // the range's probability is reported (git's search stopped here, so no runs beyond git's were spent on it)
  assert.ok(r.result.confidence > 0.5 && r.result.confidence < 1, `range probability ${r.result.confidence}`);
  assert.match(r.result.message!, new RegExp(`one of these 3 \\(probability ${r.result.confidence.toFixed(3)}\\)`));
});

test('the confidence is taken at a low plausible failure rate: a lucky streak of failures does not make a wrong answer sure', () => {
  // a seeded p = 0.1 bisect that the integrated posterior got wrong with 0.96: c6 is the culprit,
  // but six early failures make the test look like it fails often, so c10's twelve passes look conclusive
  const dag = linear(80);
  const g = graphOf(dag);
  const t = (c: number, fails: number, passes: number): Tally => ({ node: g.index.get(sha(`c${c}`))!, fails, passes });
  const tallies = [t(80, 1, 3), t(39, 1, 0), t(36, 1, 0), t(35, 0, 1), t(34, 0, 1), t(29, 0, 1), t(27, 1, 0), t(23, 0, 1), t(19, 0, 1), t(14, 1, 0), t(12, 1, 0), t(11, 1, 4), t(10, 0, 12), t(9, 0, 3), t(8, 0, 2), t(7, 0, 1), t(5, 0, 1)];
  const post = posteriorOf(g, tallies, oneSided);
  const c11 = g.index.get(sha('c11'))!;
  assert.ok(post.mass[c11]! > 0.95, `integrated posterior ${post.mass[c11]}`);
  assert.ok(confidenceOf({ model: oneSided, post }, c11) < 0.9, `robust ${confidenceOf({ model: oneSided, post }, c11)}`);
  // with many consistent failures the two agree
  const sure = posteriorOf(g, [t(80, 6, 0), t(40, 5, 0), t(30, 4, 0), t(20, 5, 0), t(19, 0, 8)], oneSided);
  const c20 = g.index.get(sha('c20'))!;
  assert.ok(confidenceOf({ model: oneSided, post: sure }, c20) > 0.95);
});

test('the message says why the confidence is below the P(first bad) the evidence shows, and at what rate it was taken', () => {
  // p = 0.5 on 40 commits: over seeds, answers whose robust confidence is below the integrated posterior say so
  let explained = 0;
  for (let seed = 1; seed <= 10; seed++) {
    const dag = linear(40);
    const truth = regressionAt(dag, sha('c23'));
    const rand = prng(seed);
    const r = drive(dag, { criterion: 'function' }, (s) => (truth(s).outcome === 'bad' && rand() < 0.5 ? { outcome: 'bad' } : { outcome: 'good' }));
    if (r.result.stop !== 'confidence') continue;
    const row = r.result.evidence.find((e) => e.sha === r.result.first_bad)!;
    const integrated = Math.floor(row.posterior! * 1000 + 1e-9) / 1000;
    const m = /taken at a failure rate of (\d+) %, the lowest the runs make plausible; (0\.\d{3}) with the rate integrated out\)/.exec(r.result.message!);
    if (integrated - r.result.confidence >= 0.0015) {
      assert.ok(m, r.result.message);
      assert.ok(Math.abs(Number(m[2]) - integrated) <= 0.001, `${m[2]} vs ${row.posterior}`);
      assert.ok(Number(m[1]) > 0 && Number(m[1]) < 50, m[1]);
      explained++;
    } else if (integrated === r.result.confidence) assert.ok(!m, r.result.message);
  }
  assert.ok(explained >= 3, `only ${explained} of 10 bisects had a cautious confidence to explain`);
});
