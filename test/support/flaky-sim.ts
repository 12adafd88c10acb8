// Simulated bisections of an intermittent failure: seeded histories (linear,
// or with branches and merges), a culprit drawn uniformly among the
// candidates, and a test that fails with probability pNew on every commit
// that has the culprit among its ancestors-or-self and pOld elsewhere.
// Shared by bench/bisect-flaky.ts and its unit-test version.
import { createBisect, next, record } from '../../src/bisect/engine.ts';
import type { BisectResult, BisectSpec, Dag } from '../../src/bisect/types.ts';
import { prng } from './prng.ts';

export function fakeSha(i: number): string {
  return (i.toString(16).padStart(8, '0') + 'f1a4e5').repeat(3).slice(0, 40);
}

/** A linear history: commit 0 good, 1..n−1 candidates, n−1 the bad end. */
export function linearHistory(n: number): Dag {
  const commits = [];
  for (let i = n - 1; i >= 1; i--) commits.push({ sha: fakeSha(i), parents: [fakeSha(i - 1)] });
  return { bad: fakeSha(n - 1), good: [fakeSha(0)], commits, firstParent: false };
}

/**
 * n commits with up to three branches open at a time, each merged back
 * into the main line (the last commit merges whatever is still open);
 * commit 0 is the good end, the rest are the candidates.
 */
export function mergeHistory(n: number, seed: number): Dag {
  const rand = prng(seed);
  const parents: number[][] = [[]];
  let main = 0;
  const branches: number[] = [];
  while (parents.length < n - 1) {
    const i = parents.length;
    const r = rand();
    if (r < 0.1 && branches.length < 3) {
      branches.push(i);
      parents.push([main]);
    } else if (r < 0.2 && branches.length > 0) {
      const b = branches.splice(Math.floor(rand() * branches.length), 1)[0]!;
      parents.push([main, b]);
      main = i;
    } else if (r < 0.5 && branches.length > 0) {
      const k = Math.floor(rand() * branches.length);
      parents.push([branches[k]!]);
      branches[k] = i;
    } else {
      parents.push([main]);
      main = i;
    }
  }
  parents.push([main, ...branches]);
  const tip = parents.length - 1;
  const commits = [];
  for (let i = tip; i >= 1; i--) commits.push({ sha: fakeSha(i), parents: parents[i]!.map(fakeSha) });
  return { bad: fakeSha(tip), good: [fakeSha(0)], commits, firstParent: false };
}

/** The commits that have `culprit` among their ancestors-or-self. */
export function descendants(dag: Dag, culprit: string): Set<string> {
  const bad = new Set<string>([culprit]);
  // rev-list order is newest first: walk it oldest first so parents come before children
  for (const c of [...dag.commits].reverse()) if (c.parents.some((p) => bad.has(p))) bad.add(c.sha);
  return bad;
}

export interface FlakyScenario {
  dag: Dag;
  culprit: string;
  /** Failure rate after the culprit, and before it. */
  pNew: number;
  pOld: number;
}

/** One seeded scenario: the culprit uniform over the candidates. */
export function flakyScenario(dag: Dag, seed: number, pNew: number, pOld = 0): FlakyScenario {
  const rand = prng(seed);
  const culprit = dag.commits[Math.floor(rand() * dag.commits.length)]!.sha;
  return { dag, culprit, pNew, pOld };
}

export interface FlakyOutcome {
  right: boolean;
  found: boolean;
  runs: number;
  rounds: number;
  confidence: number;
  result: BisectResult;
}

/** Drives the engine on a scenario; each run's outcome is drawn from a PRNG seeded per bisect. */
export function simulateFlaky(s: FlakyScenario, spec: BisectSpec, seed: number, slots = 1): FlakyOutcome {
  const rand = prng(seed ^ 0x5bd1e995);
  const bad = descendants(s.dag, s.culprit);
  const state = createBisect(s.dag, spec);
  for (let i = 0; i < 100_000; i++) {
    const step = next(state, slots);
    if ('done' in step) {
      const r = step.done;
      return { right: r.first_bad === s.culprit, found: r.first_bad !== null, runs: r.samples, rounds: r.rounds, confidence: r.confidence, result: r };
    }
    if ('wait' in step) throw new Error('the simulation owes no runs');
    for (const p of step.probes) {
      for (let k = 0; k < p.runs; k++) record(state, p.sha, { outcome: rand() < (bad.has(p.sha) ? s.pNew : s.pOld) ? 'bad' : 'good' });
    }
  }
  throw new Error('bisect did not finish');
}
