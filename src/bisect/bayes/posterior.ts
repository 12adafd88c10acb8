// The posterior over the first bad commit for a test that may fail only
// some of the time. Hypothesis h = "h is the first bad commit": a commit is
// after the culprit iff h is among its ancestors-or-self (merges counted as
// git counts them). After the culprit the test fails with an unknown rate
// p_new; before it with p_old = 0 (one-sided: no false positives, the
// default) or an unknown p_old (two-sided). Both rates are integrated out
// (rates.ts), so a hypothesis' likelihood depends only on how many runs
// failed and passed after it and before it.
//
// Hypotheses with the same set of tested commits after them have the same
// likelihood; they are kept as groups (a bitset each), which is what makes
// the posterior and the probe selection cheap on long histories: there
// are about as many groups as commits tested, not as candidates.
import { bits, members, setBit, type Bits } from '../bitset.ts';
import type { Graph } from '../graph.ts';
import { marginalTable, type RatePrior } from './rates.ts';

/** The counted runs (passes and failures) of one commit. */
export interface Tally {
  /** Candidate index, or undefined for a commit before every candidate (a good end, an ancestor of one). */
  node: number | undefined;
  fails: number;
  passes: number;
}

export interface RateModel {
  /** false: no failure before the culprit. */
  twoSided: boolean;
  /** 'certain': the test always fails after the culprit (deterministic). */
  newRate: RatePrior | 'certain';
  oldRate: RatePrior;
}

export interface Group {
  members: Bits;
  size: number;
  /** Failures and passes of the commits after these hypotheses, and of all the others. */
  fa: number;
  pa: number;
  fb: number;
  pb: number;
  /** ln likelihood of one hypothesis of the group (−Infinity: impossible). */
  logL: number;
  /** Posterior mass of the whole group. */
  weight: number;
}

export interface Posterior {
  /** Groups with positive mass, heaviest first. */
  groups: Group[];
  /** No hypothesis explains the runs (one-sided: a failure outside every candidate's descendants). */
  impossible: boolean;
  /** P(first bad = node) for each candidate. */
  mass: Float64Array;
  /** ln P(runs | some candidate is the first bad one), the culprit uniform. */
  logEvidence: number;
  fails: number;
  passes: number;
}

/** ln P(runs | the group's hypothesis) with the rates integrated out. */
export function groupLogL(model: RateModel, logNew: (f: number, s: number) => number, logOld: (f: number, s: number) => number, fa: number, pa: number, fb: number, pb: number): number {
  if (!model.twoSided) return fb > 0 ? -Infinity : logNew(fa, pa);
  return logNew(fa, pa) + logOld(fb, pb);
}

export function posteriorOf(g: Graph, tallies: readonly Tally[], model: RateModel): Posterior {
  const logNew = marginalTable(model.newRate);
  const logOld = marginalTable(model.oldRate);
  let fails = 0;
  let passes = 0;
  const observed: Tally[] = [];
  for (const t of tallies) {
    fails += t.fails;
    passes += t.passes;
    if (t.node !== undefined && t.fails + t.passes > 0) observed.push(t);
  }
  // signature of h = the observed commits after it
  const sig: number[][] = Array.from({ length: g.size }, () => []);
  observed.forEach((t, k) => {
    for (const h of members(g.ancestors[t.node!]!)) sig[h]!.push(k);
  });
  const byKey = new Map<string, Group>();
  for (let h = 0; h < g.size; h++) {
    const key = sig[h]!.join(',');
    let grp = byKey.get(key);
    if (!grp) {
      let fa = 0;
      let pa = 0;
      for (const k of sig[h]!) {
        fa += observed[k]!.fails;
        pa += observed[k]!.passes;
      }
      const fb = fails - fa;
      const pb = passes - pa;
      grp = { members: bits(g.size), size: 0, fa, pa, fb, pb, logL: groupLogL(model, logNew, logOld, fa, pa, fb, pb), weight: 0 };
      byKey.set(key, grp);
    }
    setBit(grp.members, h);
    grp.size++;
  }
  const all = [...byKey.values()].filter((x) => x.logL > -Infinity);
  const mass = new Float64Array(g.size);
  if (all.length === 0) return { groups: [], impossible: true, mass, fails, passes, logEvidence: -Infinity };
  // uniform prior over the candidates: a group weighs size · e^logL
  const top = Math.max(...all.map((x) => x.logL + Math.log(x.size)));
  let z = 0;
  for (const x of all) z += x.size * Math.exp(x.logL - top);
  for (const x of all) x.weight = (x.size * Math.exp(x.logL - top)) / z;
  const groups = all.filter((x) => x.weight > 0).sort((p, q) => q.weight - p.weight);
  for (const x of groups) for (const h of members(x.members)) mass[h] = x.weight / x.size;
  return { groups, impossible: false, mass, fails, passes, logEvidence: top + Math.log(z) - Math.log(g.size) };
}

/** P(the commit is bad) = P(the first bad commit is among its ancestors-or-self). */
export function badProbability(g: Graph, post: Posterior, node: number | undefined): number {
  if (node === undefined) return 0;
  let p = 0;
  for (const h of members(g.ancestors[node]!)) p += post.mass[h]!;
  return Math.min(1, p);
}

/** The most likely first bad commit (ties: the one git walks first, i.e. oldest). */
export function mostLikely(g: Graph, post: Posterior): { node: number; p: number } | null {
  let best: { node: number; p: number } | null = null;
  for (let h = 0; h < g.size; h++) {
    const p = post.mass[h]!;
    if (p <= 0) continue;
    if (best === null || p > best.p * (1 + 1e-12) || (Math.abs(p - best.p) <= best.p * 1e-12 && g.gitOrder[h]! < g.gitOrder[best.node]!)) best = { node: h, p };
  }
  return best;
}

/** The fewest candidates holding at least `level` of the mass, most likely first. */
export function credibleSet(post: Posterior, level: number): number[] {
  const order = Array.from(post.mass.keys()).filter((h) => post.mass[h]! > 0);
  order.sort((x, y) => post.mass[y]! - post.mass[x]! || x - y);
  const out: number[] = [];
  let sum = 0;
  for (const h of order) {
    if (sum >= level) break;
    out.push(h);
    sum += post.mass[h]!;
  }
  return out;
}

