// Choosing the probes of one round. With K probes the outcomes split the
// remaining candidates into classes (commits that would answer every probe
// alike); after the round only the class of the culprit is left. With the
// culprit equally likely anywhere, the expected size of what is left is
// Σ|class|² / N, so the probes are chosen to minimise Σ|class|²: for one
// probe that is git's "closest to half" rule, and git's own pick (with its
// tie-breaks) is kept; for K probes the rest are added greedily and then
// improved one at a time, which lands on K+1 parts of nearly equal weight.
import { and, andNot, count, countAnd, hasBit, members, type Bits } from './bitset.ts';
import { gitChoice } from './git-rule.ts';
import type { Graph } from './graph.ts';

export interface SelectInput {
  remaining: Bits;
  /** Commits that may be probed now: remaining, untested, not skipped, not the bad one. */
  open: Bits;
  /** Probes already under way (their answers will split the set too). */
  fixed: readonly number[];
  skipped: ReadonlySet<number>;
  bad: number | null;
  slots: number;
  /**
   * Commits whose build is already cached, preferred when nearly as good: a
   * rank (lower first: the earlier it was built) or undefined if not cached.
   * The earliest-built near-tie wins, so a bisect repeated over the same
   * cache retraces its path and builds nothing new.
   */
  cacheRank?: (sha: string) => number | undefined;
  /** How much larger Σ|class|² a cached probe may leave (fraction; default 0.02). */
  cachedTolerance?: number;
}

/** Σ|class|² over the partition of `remaining` by the ancestor sets of `probes`. */
export function splitCost(g: Graph, remaining: Bits, probes: readonly number[]): number {
  let cost = 0;
  for (const c of classes(g, remaining, probes)) cost += count(c) ** 2;
  return cost;
}

function classes(g: Graph, remaining: Bits, probes: readonly number[]): Bits[] {
  let parts: Bits[] = [remaining];
  for (const p of probes) {
    const next: Bits[] = [];
    for (const part of parts) {
      const inside = and(part, g.ancestors[p]!);
      const outside = andNot(part, g.ancestors[p]!);
      if (count(inside) > 0) next.push(inside);
      if (count(outside) > 0) next.push(outside);
    }
    parts = next;
  }
  return parts;
}

/** Cost of adding c to a partition: each class splits by c's ancestor set. */
function costWith(g: Graph, parts: readonly Bits[], sizes: readonly number[], c: number): number {
  let cost = 0;
  for (let k = 0; k < parts.length; k++) {
    const a = countAnd(parts[k]!, g.ancestors[c]!);
    const s = sizes[k]!;
    cost += a * a + (s - a) * (s - a);
  }
  return cost;
}

/** The best commit of `open` to add to `others`, preferring git's walk order on ties. */
function bestAddition(g: Graph, input: SelectInput, others: readonly number[], exclude: ReadonlySet<number>): { c: number; cost: number } | null {
  const parts = classes(g, input.remaining, others);
  const sizes = parts.map(count);
  let best: { c: number; cost: number } | null = null;
  const candidates = members(input.open).sort((a, b) => g.gitOrder[a]! - g.gitOrder[b]!);
  for (const c of candidates) {
    if (exclude.has(c)) continue;
    const cost = costWith(g, parts, sizes, c);
    if (best === null || cost < best.cost) best = { c, cost };
  }
  return best;
}

/** Up to `slots` new probes for this round. */
export function selectProbes(g: Graph, input: SelectInput): number[] {
  if (input.slots <= 0 || count(input.open) === 0) return [];
  const tolerance = input.cachedTolerance ?? 0.02;
  const chosen: number[] = [];
  const taken = (): Set<number> => new Set([...input.fixed, ...chosen]);

  // The first probe of a round with nothing else under way is git's.
  if (input.fixed.length === 0) {
    const first = gitChoice(g, { remaining: input.remaining, skipped: input.skipped, bad: input.bad });
    if (first !== null && hasBit(input.open, first)) chosen.push(first);
  }
  while (chosen.length < input.slots) {
    const pick = bestAddition(g, input, [...input.fixed, ...chosen], taken());
    if (pick === null) break;
    chosen.push(pick.c);
  }

  // Improve one probe at a time while that helps (never with a single probe:
  // for one probe git's pick is already the best, and its tie-break is kept).
  if (input.fixed.length + chosen.length > 1) {
    for (let pass = 0; pass < 4; pass++) {
      let improved = false;
      for (let i = 0; i < chosen.length; i++) {
        const others = [...input.fixed, ...chosen.filter((_, j) => j !== i)];
        const current = splitCost(g, input.remaining, [...others, chosen[i]!]);
        const pick = bestAddition(g, input, others, new Set(others));
        if (pick !== null && pick.cost < current) {
          chosen[i] = pick.c;
          improved = true;
        }
      }
      if (!improved) break;
    }
  }

  // Near-ties go to commits whose build is cached, the earliest built first.
  if (input.cacheRank) {
    for (let i = 0; i < chosen.length; i++) {
      const others = [...input.fixed, ...chosen.filter((_, j) => j !== i)];
      const exclude = new Set(others);
      const current = splitCost(g, input.remaining, [...others, chosen[i]!]);
      const parts = classes(g, input.remaining, others);
      const sizes = parts.map(count);
      let best: { c: number; rank: number; cost: number } | null = null;
      for (const c of members(input.open).sort((a, b) => g.gitOrder[a]! - g.gitOrder[b]!)) {
        if (exclude.has(c)) continue;
        const rank = input.cacheRank(g.shas[c]!);
        if (rank === undefined) continue;
        const cost = c === chosen[i] ? current : costWith(g, parts, sizes, c);
        if (cost > current * (1 + tolerance)) continue;
        if (best === null || rank < best.rank || (rank === best.rank && cost < best.cost)) best = { c, rank, cost };
      }
      if (best) chosen[i] = best.c;
    }
  }
  return chosen;
}
