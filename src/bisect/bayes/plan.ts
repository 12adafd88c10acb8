// One round of the Bayesian rule (build/function): which runs to ask for
// next, or the answer.
//
// 1. While the test has behaved deterministically (no commit both passed
//    and failed), probes follow git's rule on the commits that agree with
//    every run: for a test that always fails after the culprit that is the
//    most informative probe, and it keeps git's cost and tie-breaks.
// 2. Then (or as soon as the test is seen to be flaky) probes are chosen
//    by expected information gain over the posterior (gain.ts), K at a
//    time, re-runs of a commit included.
// 3. The ends are evidence: no culprit is named before the bad end has
//    failed (two-sided: fails more often than the good end), and a
//    culprit whose parent is not a candidate has that parent run too.
// 4. It stops when the most likely commit reaches the confidence asked
//    for, when only untestable commits are left to tell apart, when the
//    bad end is not shown bad within its runs, or at the run budget.
import { andNot, bits, clearBit, count, countAnd, members, setBit } from '../bitset.ts';
import type { Model } from '../model.ts';
import { remainingOf } from '../remaining.ts';
import { selectProbes } from '../select.ts';
import type { BisectResult, ProbeRequest, Verdict } from '../types.ts';
import { GainModel, type Probe } from './gain.ts';
import { confidenceOf } from './confidence.ts';
import { credibleSet, mostLikely, posteriorOf } from './posterior.ts';
import { bayesResult } from './result.ts';
import { bayesView, type BayesView } from './view.ts';

export interface PlanOptions {
  cacheRank?: ((sha: string) => number | undefined) | undefined;
}

export type Plan = { probes: ProbeRequest[] } | { done: BisectResult };

/**
 * Runs in all before the best guess is given: 50 + 30 per halving of the
 * candidates (260 for 80), room for a test failing one run in ten; a test
 * failing one in three needs about a quarter of it.
 */
export function defaultBudget(candidates: number): number {
  return 50 + 30 * Math.ceil(Math.log2(candidates + 1));
}

export function planBayes(m: Model, slots: number, options: PlanOptions): Plan {
  const v = bayesView(m);
  const { graph: g, spec, dag } = m;
  const budget = spec.budget ?? defaultBudget(g.size);
  // a deterministic test that passed at the bad end has shown it good
  if (v.model.newRate === 'certain' && v.bad.passes > 0 && v.bad.fails === 0) return { done: bayesResult(m, v, { reason: 'no-regression' }) };
  if (v.post.impossible) return { done: bayesResult(m, v, { reason: 'inconsistent' }) };
  if (v.runs >= budget) return { done: bayesResult(m, v, { reason: 'budget' }) };

  const requested = new Set(m.rounds.flatMap((round) => round.map((p) => p.sha)));
  if (!v.model.twoSided && v.deterministic) {
    const det = deterministicStep(m, v, requested, slots, options);
    if (det) return det;
  }

  if (v.runs >= budget) return { done: bayesResult(m, v, { reason: 'budget' }) };
  const unit = spec.repeat;
  const mandatory: ProbeRequest[] = [];
  const ask = (sha: string, runs: number, why: ProbeRequest['why']): void => {
    const have = mandatory.find((p) => p.sha === sha);
    if (have) have.runs += runs;
    else mandatory.push({ sha, runs, why });
  };
  const goodEnd = dag.good[0]!;
  if (!v.shown) {
    const badRuns = v.bad.fails + v.bad.passes;
    const goodRuns = v.good.fails + v.good.passes;
    const badDone = badRuns >= spec.endRuns || v.bad.skips >= spec.endRuns;
    const goodDone = !v.model.twoSided || goodRuns >= spec.endRuns || v.good.skips >= spec.endRuns;
    if (badDone && goodDone) return { done: bayesResult(m, v, { reason: 'no-regression' }) };
    // one run of each end per round; with one slot, the end with fewer runs.
    // Two-sided, the search's runs count too: the bad end is asked for only while it has few runs, or has not
    // failed; the good end once up front, the commits the search finds before the culprit telling the old rate
    // as well as it would (a second good-end run cost 1.4 runs more per bisect over 1,000 seeded histories)
    const few = (n: number, fails: number): boolean => !v.model.twoSided || n < 2 || fails === 0;
    const ends = [...(badDone || !few(badRuns, v.bad.fails) ? [] : [{ sha: dag.bad, n: badRuns }]), ...(goodDone || goodRuns >= 1 ? [] : [{ sha: goodEnd, n: goodRuns }])];
    if (slots < ends.length) ends.sort((x, y) => x.n - y.n);
    for (const e of ends.slice(0, Math.max(1, slots))) ask(e.sha, 1, 'end');
  }

  const top = mostLikely(g, v.post);
  const topP = top === null ? 0 : confidenceOf(v, top.node);
  if (v.shown && top !== null && topP >= spec.confidence) {
    // the culprit's parent outside the candidates is a good end or an ancestor of one: run it once
    const parent = g.firstParent[top.node] ?? null;
    const pc = parent === null ? undefined : v.counts.get(parent);
    const parentRuns = pc ? pc.fails + pc.passes + pc.skips : 0;
    const parentNode = parent === null ? undefined : g.index.get(parent);
    // a parent outside the candidates (a good end, an ancestor of one) is run once; a deterministic
    // test runs its parent once more at the end: the one flaky pass it could not see otherwise
    const confirmed = parent !== null && (m.commits.get(parent)?.confirmAsked ?? false);
    const owe =
      parent !== null &&
      (v.model.newRate === 'certain' && spec.confirm ? !confirmed && !(parentNode !== undefined && v.skipped.has(parentNode)) : parentNode === undefined && parentRuns === 0);
    if (owe) {
      ask(parent!, 1, 'confirm');
    } else {
      return { done: bayesResult(m, v, { reason: 'found' }) };
    }
  }

  // sure of the commit but the ends not shown (two-sided: the bad end not yet failing more often than the good
  // end): more search only sharpens an answer that cannot be given yet, so the runs go to the ends
  if (!v.shown && top !== null && topP >= spec.confidence) {
    const left = endsToShow(m, v).filter((sha) => !mandatory.some((p) => p.sha === sha));
    for (const sha of left.slice(0, Math.max(0, slots - mandatory.length))) ask(sha, unit, 'end');
    if (mandatory.length > 0) return { probes: mandatory };
  }

  const range = untestableRange(m, v);
  if (range) return { done: bayesResult(m, v, { reason: 'only-skipped', candidates: range }) };

  // the posterior is sure, its robust confidence not yet: the run that raises the latter most
  if (top !== null && top.p >= spec.confidence && topP < spec.confidence && mandatory.length < slots) {
    const pick = endgamePick(m, v, top.node);
    if (pick !== null) ask(g.shas[pick]!, unit, 'more');
  }

  const already = mandatory.reduce((n, p) => n + p.runs, 0);
  const room = Math.max(0, budget - v.runs - already);
  const free = Math.min(Math.max(0, slots - mandatory.length), Math.floor(room / unit));
  if (free > 0) {
    const runsOf = (sha: string): number => {
      const c = v.counts.get(sha);
      return c ? c.fails + c.passes : 0;
    };
    const candidates: (number | undefined)[] = [];
    for (let i = 0; i < g.size; i++) if (!v.skipped.has(i) && runsOf(g.shas[i]!) + unit <= spec.maxRuns) candidates.push(i);
    if (v.model.twoSided && runsOf(goodEnd) + unit <= spec.maxRuns) candidates.push(undefined);
    const nodeOf = (sha: string): number | undefined => g.index.get(sha);
    const fixed: Probe[] = mandatory.map((p) => ({ node: nodeOf(p.sha), runs: p.runs }));
    const picks = new GainModel(v.model).select(g, v.post, {
      candidates,
      slots: free,
      unit,
      fixed,
      addToFixed: true,
      cacheRank: options.cacheRank ? (node) => options.cacheRank!(g.shas[node]!) : undefined,
      tolerance: spec.cachedTolerance,
    });
    for (const p of picks) {
      const sha = p.node === undefined ? goodEnd : g.shas[p.node]!;
      ask(sha, p.runs, sha === dag.bad || p.node === undefined ? 'end' : runsOf(sha) > 0 ? 'more' : 'search');
    }
  }
  if (mandatory.length === 0 && room >= unit) {
    // One run can be worth nothing when every hypothesis predicts it alike (two-sided,
    // ends that failed equally often); several can still tell. Then measure the ends
    // if they are not shown, else take the endgame's pick.
    const endsLeft = endsToShow(m, v);
    if (endsLeft.length > 0) {
      ask(endsLeft[0]!, unit, 'end');
    } else if (top !== null) {
      const pick = endgamePick(m, v, top.node);
      if (pick !== null) ask(g.shas[pick]!, unit, 'more');
    }
  }
  if (mandatory.length > 0) return { probes: mandatory };
  // nothing left worth a run: the best guess, as when the budget runs out
  return { done: bayesResult(m, v, { reason: 'budget' }) };
}

/** The ends that may still run while the bad end is not shown, fewest runs first (the bad end on a tie). */
function endsToShow(m: Model, v: BayesView): string[] {
  if (v.shown) return [];
  const runs = (sha: string): number => {
    const c = v.counts.get(sha);
    return c ? c.fails + c.passes : 0;
  };
  return [m.dag.bad, ...(v.model.twoSided ? [m.dag.good[0]!] : [])].filter((sha) => runs(sha) < m.spec.endRuns).sort((a, b) => runs(a) - runs(b));
}

/** git's search over the commits every run agrees with, while the test has been deterministic. */
function deterministicStep(m: Model, v: BayesView, requested: ReadonlySet<string>, slots: number, options: PlanOptions): Plan | null {
  const g = m.graph;
  const verdict = (sha: string, given: 'good' | 'bad' | undefined): Verdict => {
    const n = v.counts.get(sha);
    if (n && n.fails > 0) return 'bad';
    if (n && n.passes > 0) return 'good';
    if (n && n.skips > 0) return 'skip';
    return given ?? 'pending';
  };
  const r = remainingOf(m, (c) => verdict(c.sha, c.given));
  if (r.size === 0) return null;
  const probed = bits(g.size);
  for (const sha of requested) {
    const i = g.index.get(sha);
    if (i !== undefined) setBit(probed, i);
  }
  const open = andNot(r.set, probed);
  if (r.bad !== null) clearBit(open, r.bad);
  for (const s of r.skipped) clearBit(open, s);
  if (count(open) > 0) {
    const picks = selectProbes(g, {
      remaining: r.set,
      open,
      fixed: [],
      skipped: r.skipped,
      bad: r.bad,
      slots,
      cacheRank: options.cacheRank,
      cachedTolerance: m.spec.cachedTolerance,
    });
    if (picks.length > 0) return { probes: picks.map((i) => ({ sha: g.shas[i]!, runs: m.spec.repeat, why: 'search' as const })) };
  }
  // git's search is over. Only untestable commits left beside the bad one: git's range answer, at git's cost.
  const left = members(r.set);
  if (left.length > 1 && left.every((i) => r.skipped.has(i) || i === r.bad)) {
    return { done: bayesResult(m, v, { reason: 'only-skipped', candidates: left.map((i) => g.shas[i]!) }) };
  }
  return null;
}

/** The credible set, when no testable commit can tell its members apart (they are untestable but for one). */
function untestableRange(m: Model, v: BayesView): string[] | null {
  const g = m.graph;
  const set = credibleSet(v.post, m.spec.confidence);
  if (set.length < 2) return null;
  const b = bits(g.size);
  for (const h of set) setBit(b, h);
  for (let x = 0; x < g.size; x++) {
    if (v.skipped.has(x)) continue;
    const inside = countAnd(g.ancestors[x]!, b);
    if (inside > 0 && inside < set.length) return null;
  }
  return set.map((h) => g.shas[h]!);
}

/**
 * Endgame: the commit among the culprit, its parents, the bad end and the
 * commits separating it from its strongest rivals whose next run raises the
 * culprit's robust confidence most in expectation. Rerunning the parent
 * shows it good; running a bad commit again pins the failure rate, which
 * is what the robust confidence is waiting for when few runs have failed.
 */
function endgamePick(m: Model, v: BayesView, top: number): number | null {
  const g = m.graph;
  const cands = new Set<number>([top, ...g.parents[top]!]);
  const badEnd = g.index.get(m.dag.bad);
  if (badEnd !== undefined) cands.add(badEnd);
  // rivals: the next most likely first bad commits; the commit that tells each from the culprit is the rival itself
  const rivals = Array.from(v.post.mass.keys()).filter((h) => h !== top && v.post.mass[h]! > 0).sort((a, b) => v.post.mass[b]! - v.post.mass[a]!).slice(0, 3);
  for (const h of rivals) cands.add(h);
  const limit = m.spec.maxRuns;
  let best: { node: number; value: number } | null = null;
  const tally = new Map(v.tallies.map((t, i) => [t.node, i] as const));
  for (const x of [...cands].sort((a, b) => g.gitOrder[a]! - g.gitOrder[b]!)) {
    if (v.skipped.has(x)) continue;
    const n = v.counts.get(g.shas[x]!);
    if (n && n.fails + n.passes + m.spec.repeat > limit) continue;
    // P(fail) ≈ P(x is bad) · the failure rate's posterior mean under the culprit
    let pBad = 0;
    for (let h = 0; h < g.size; h++) if (v.post.mass[h]! > 0 && (g.ancestors[x]![h >>> 5]! & (1 << (h & 31))) !== 0) pBad += v.post.mass[h]!;
    const grp = v.post.groups.find((q) => (q.members[top >>> 5]! & (1 << (top & 31))) !== 0)!;
    const rate = (0.5 + grp.fa) / (1 + grp.fa + grp.pa);
    const pFail = Math.min(1, pBad) * rate;
    let value = 0;
    for (const [fails, passes, p] of [[1, 0, pFail], [0, 1, 1 - pFail]] as const) {
      if (p <= 0) continue;
      const tallies = v.tallies.map((t) => ({ ...t }));
      const at = tally.get(x);
      if (at === undefined) tallies.push({ node: x, fails, passes });
      else {
        tallies[at]!.fails += fails;
        tallies[at]!.passes += passes;
      }
      const post = posteriorOf(g, tallies, v.model);
      value += p * (post.impossible ? 0 : confidenceOf({ model: v.model, post }, top));
    }
    if (best === null || value > best.value + 1e-12) best = { node: x, value };
  }
  return best?.node ?? null;
}
