// What the Bayesian rule sees in the engine's model: each commit's counted
// runs, the posterior over the first bad commit, and whether the ends have
// been shown to be what the user said. Derived from the model alone (so a
// replayed state sees the same), and cached per log length.
import type { CommitRecord, Model } from '../model.ts';
import { posteriorOf, type Posterior, type RateModel, type Tally } from './posterior.ts';
import { JEFFREYS, logMarginal, probGreater } from './rates.ts';

export interface Counts {
  fails: number;
  passes: number;
  skips: number;
}

export interface BayesView {
  model: RateModel;
  post: Posterior;
  /** Counted runs per commit, as the posterior saw them (for what-if posteriors). */
  tallies: Tally[];
  counts: Map<string, Counts>;
  /** Candidates that could not be tested (a skip, and no more counted runs than skips). */
  skipped: Set<number>;
  /** No commit has both passed and failed: the test has behaved deterministically so far. */
  deterministic: boolean;
  bad: Counts;
  /** The good ends together. */
  good: Counts;
  /**
   * The bad end is shown bad. One-sided: it failed. Two-sided: a change of
   * rate somewhere in the range is more likely than one rate throughout
   * with P >= confidence (all runs weighed), and the bad end's own runs
   * lean its way (it fails at least as often as the good end, P >= ½).
   */
  shown: boolean;
  /** P(the bad end is bad): one-sided 1 or 0; two-sided P(a change of rate | runs). */
  pShown: number;
  /** Two-sided: P(the bad end's rate > the good end's | the ends' own runs). */
  pEnds: number;
  /** Runs reported, skips included, infra not. */
  runs: number;
}

const cache = new WeakMap<Model, { applied: number; view: BayesView }>();

export function countsOf(c: CommitRecord): Counts {
  const n = { fails: 0, passes: 0, skips: 0 };
  for (const r of c.runs) {
    if (r.outcome === 'bad') n.fails++;
    else if (r.outcome === 'good') n.passes++;
    else if (r.outcome === 'skip') n.skips++;
  }
  return n;
}

/** A commit is untestable once it skipped at least as often as it ran. */
export function isSkipped(n: Counts): boolean {
  return n.skips > 0 && n.skips >= n.fails + n.passes;
}

export function rateModel(m: Model): RateModel {
  return { twoSided: m.spec.falsePositives, newRate: m.spec.deterministic ? 'certain' : JEFFREYS, oldRate: JEFFREYS };
}

export function bayesView(m: Model): BayesView {
  const hit = cache.get(m);
  if (hit && hit.applied === m.applied) return hit.view;
  const model = rateModel(m);
  const counts = new Map<string, Counts>();
  const tallies: Tally[] = [];
  const skipped = new Set<number>();
  const bad: Counts = { fails: 0, passes: 0, skips: 0 };
  const good: Counts = { fails: 0, passes: 0, skips: 0 };
  let deterministic = true;
  let runs = 0;
  for (const c of m.commits.values()) {
    const n = countsOf(c);
    counts.set(c.sha, n);
    runs += n.fails + n.passes + n.skips;
    if (n.fails > 0 && n.passes > 0) deterministic = false;
    if (c.node !== undefined && isSkipped(n)) skipped.add(c.node);
    tallies.push({ node: c.node, fails: n.fails, passes: n.passes });
    const side = c.end === 'bad' ? bad : c.end === 'good' ? good : null;
    if (side) {
      side.fails += n.fails;
      side.passes += n.passes;
      side.skips += n.skips;
    }
  }
  const post = posteriorOf(m.graph, tallies, model);
  let pShown = bad.fails > 0 ? 1 : 0;
  let pEnds = pShown;
  let shown = bad.fails > 0;
  if (model.twoSided) {
    // no change at all: every run shares one unknown rate
    const none = logMarginal(model.oldRate, post.fails, post.passes);
    pShown = post.impossible ? 0 : 1 / (1 + Math.exp(none - post.logEvidence));
    pEnds = probGreater(bad, good);
    shown = bad.fails > 0 && pShown >= m.spec.confidence && pEnds >= 0.5;
  }
  const view: BayesView = { model, post, tallies, counts, skipped, deterministic, bad, good, shown, pShown, pEnds, runs };
  cache.set(m, { applied: m.applied, view });
  return view;
}
