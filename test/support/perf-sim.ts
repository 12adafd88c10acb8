// Simulated performance bisections: a linear history whose metric steps up
// by `step` (a fraction) at one commit, measured with noise of `noise` (a
// fraction of the base value) of one of the shapes real machines show:
// Gaussian; bimodal (a second machine state, a third of the runs 2·noise
// slower); heavy-tailed (one run in twenty hit by something else, 3× the
// value); drifting (the whole machine slowly getting slower and faster
// again, ±noise over about 60 runs, on top of the Gaussian noise). Shared
// by the accuracy benchmark and its small unit-test version; seeded, so
// every figure can be re-run.
import { createBisect, next, record } from '../../src/bisect/engine.ts';
import type { BisectSpec, BisectState, Dag, Observation } from '../../src/bisect/types.ts';
import { prng } from './prng.ts';

export { prng };

export type NoiseShape = 'gaussian' | 'bimodal' | 'heavy-tailed' | 'drift';

export interface SimConfig {
  commits: number;
  step: number;
  noise: number;
  shape?: NoiseShape;
  slots?: number;
  spec?: Partial<BisectSpec>;
}

export interface SimOutcome {
  right: boolean;
  found: boolean;
  confidence: number;
  samples: number;
  rounds: number;
}

function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

function fakeSha(i: number): string {
  return (i.toString(16).padStart(8, '0') + 'c0ffee').repeat(3).slice(0, 40);
}

/** c0 (good) … c(n−1) (bad), newest first as rev-list prints it. */
export function linearDag(n: number): Dag {
  const commits = [];
  for (let i = n - 1; i >= 1; i--) commits.push({ sha: fakeSha(i), parents: [fakeSha(i - 1)] });
  return { bad: fakeSha(n - 1), good: [fakeSha(0)], commits, firstParent: false };
}

/**
 * One seeded history: the culprit at a random commit and a noisy measure of
 * any commit (a step of cfg.step from the culprit on; lower is better).
 */
function scenario(cfg: SimConfig, seed: number) {
  const rand = prng(seed);
  const normal = gaussian(rand);
  const culprit = 1 + Math.floor(rand() * (cfg.commits - 1));
  const index = new Map(Array.from({ length: cfg.commits }, (_, i) => [fakeSha(i), i] as const));
  const phase = rand() * 2 * Math.PI;
  let t = 0;
  const measure = (sha: string): number => {
    const base = 100 * (1 + (index.get(sha)! >= culprit ? cfg.step : 0));
    const gauss = 100 * cfg.noise * normal();
    t++;
    switch (cfg.shape ?? 'gaussian') {
      case 'gaussian':
        return base + gauss;
      case 'bimodal':
        return base + gauss + (rand() < 1 / 3 ? 200 * cfg.noise : 0);
      case 'heavy-tailed':
        return rand() < 0.05 ? 3 * base + gauss : base + gauss;
      case 'drift':
        return base + gauss + 100 * cfg.noise * Math.sin(phase + (2 * Math.PI * t) / 60);
    }
  };
  return { culprit: fakeSha(culprit), dag: linearDag(cfg.commits), measure };
}

/** Drives the engine until it answers; `observe` records each run a probe asks for. */
function drive(state: BisectState, cfg: SimConfig, culprit: string, observe: (sha: string) => Observation, extra = { samples: 0, rounds: 0 }): SimOutcome {
  for (;;) {
    const step = next(state, cfg.slots ?? 1);
    if ('done' in step) {
      const r = step.done;
      return { right: r.first_bad === culprit, found: r.first_bad !== null, confidence: r.confidence, samples: r.samples + extra.samples, rounds: r.rounds + extra.rounds };
    }
    if ('wait' in step) throw new Error('simulation owes no runs');
    for (const p of step.probes) for (let k = 0; k < p.runs; k++) record(state, p.sha, observe(p.sha));
  }
}

/** One statistical bisection with the engine's perf criterion (lower is better). */
export function simulatePerf(cfg: SimConfig, seed: number): SimOutcome {
  const { culprit, dag, measure } = scenario(cfg, seed);
  const state = createBisect(dag, { criterion: 'perf', direction: 'lower', ...cfg.spec });
  return drive(state, cfg, culprit, (sha) => ({ outcome: 'good', value: measure(sha) }));
}

/**
 * One-shot bisection for comparison: one sample per commit, good if it is
 * below the midpoint of the two ends' single samples; no repeats, no
 * confirmation — what a plain `git bisect run` on a benchmark does. The two
 * end samples and the round that takes them are counted too.
 */
export function simulateOneShot(cfg: SimConfig, seed: number): SimOutcome {
  const { culprit, dag, measure } = scenario(cfg, seed);
  const threshold = (measure(dag.good[0]!) + measure(dag.bad)) / 2;
  const state = createBisect(dag, { criterion: 'function', rule: 'majority', repeat: 1, confirm: false });
  return drive(state, cfg, culprit, (sha) => ({ outcome: measure(sha) > threshold ? 'bad' : 'good' }), { samples: 2, rounds: 1 });
}

export interface Summary {
  runs: number;
  accuracy: number;
  meanSamples: number;
  meanRounds: number;
  notFound: number;
}

export function summarise(outcomes: SimOutcome[]): Summary {
  const n = outcomes.length;
  const sum = (f: (o: SimOutcome) => number): number => outcomes.reduce((s, o) => s + f(o), 0);
  return {
    runs: n,
    accuracy: sum((o) => (o.right ? 1 : 0)) / n,
    meanSamples: sum((o) => o.samples) / n,
    meanRounds: sum((o) => o.rounds) / n,
    notFound: sum((o) => (o.found ? 0 : 1)),
  };
}
