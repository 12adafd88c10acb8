// History order for people: the first-parent chain from the bad end back
// towards the good end, each merged branch listed right after the merge
// that brought it in (its own first-parent chain, nested the same way),
// then the good ends. This is how `git log --graph` reads, and how a
// bisect's evidence is shown: the boundary between bad and good is one
// place in the list, not scattered by the order commits happened to be
// tested in.
import { bits, hasBit, orInto, type Bits } from './bitset.ts';
import { graphOf } from './graph.ts';
import type { Dag } from './types.ts';

export interface HistoryEntry {
  sha: string;
  /** 0 on the bad end's first-parent chain, 1 on a branch merged into it, and so on. */
  depth: number;
  /** The merge this commit's branch was merged by (depth > 0). */
  mergedBy?: string;
  end?: 'good' | 'bad';
}

const cache = new WeakMap<Dag, HistoryEntry[]>();

/** Every candidate once, then the good ends, in history order. */
export function historyOrder(dag: Dag): HistoryEntry[] {
  const hit = cache.get(dag);
  if (hit) return hit;
  const g = graphOf(dag);
  const out: HistoryEntry[] = [];
  const seen = new Uint8Array(g.size);
  const parentsOf = (i: number): (number | undefined)[] => dag.commits[i]!.parents.map((p) => g.index.get(p));
  // explicit stack of chains to walk: no recursion depth limit on long, branchy histories
  const chains: { start: number | undefined; stop: Bits | null; depth: number; mergedBy?: string }[] = [{ start: g.index.get(dag.bad), stop: null, depth: 0 }];
  while (chains.length > 0) {
    const { start, stop, depth, mergedBy } = chains.pop()!;
    const pending: typeof chains = [];
    let c = start;
    // a chain's branches are listed after the chain's merge commit and before the chain goes on
    while (c !== undefined && seen[c] === 0 && !(stop && hasBit(stop, c))) {
      seen[c] = 1;
      const entry: HistoryEntry = { sha: g.shas[c]!, depth };
      if (mergedBy !== undefined) entry.mergedBy = mergedBy;
      if (g.shas[c] === dag.bad) entry.end = 'bad';
      out.push(entry);
      const [first, ...rest] = parentsOf(c);
      const branches = rest.filter((p): p is number => p !== undefined);
      if (branches.length > 0) {
        // a branch stops where it reaches what the first parent reaches
        const mainline = bits(g.size);
        if (stop) orInto(mainline, stop);
        if (first !== undefined) orInto(mainline, g.ancestors[first]!);
        // walk the branches now, then come back to this chain
        pending.push({ start: first, stop, depth, ...(mergedBy !== undefined ? { mergedBy } : {}) });
        for (const p of [...branches].reverse()) pending.push({ start: p, stop: mainline, depth: depth + 1, mergedBy: g.shas[c]! });
        break;
      }
      c = first;
    }
    chains.push(...pending);
  }
  // anything a walk could not reach (not expected from rev-list input), in rev-list order
  for (let i = 0; i < g.size; i++) if (seen[i] === 0) out.push({ sha: g.shas[i]!, depth: 0 });
  for (const sha of dag.good) out.push({ sha, depth: 0, end: 'good' });
  cache.set(dag, out);
  return out;
}

/** The position of each sha in history order; commits outside it sort just before the good ends. */
export function historyRank(dag: Dag): (sha: string) => number {
  const order = historyOrder(dag);
  const pos = new Map(order.map((e, i) => [e.sha, i] as const));
  const beforeGood = order.length - dag.good.length - 0.5;
  return (sha) => pos.get(sha) ?? beforeGood;
}
