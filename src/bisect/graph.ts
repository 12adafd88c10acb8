// The candidate graph indexed for the search: commit i is dag.commits[i]
// (rev-list order, newest first), with its parents among the candidates and
// the set of candidates it can reach, itself included. Built once per Dag
// object and cached, since the engine re-derives its state on every call.
import { bits, orInto, setBit, type Bits } from './bitset.ts';
import type { Dag } from './types.ts';

export interface Graph {
  size: number;
  shas: string[];
  index: Map<string, number>;
  /** Parents that are candidates, in parent order. */
  parents: number[][];
  /** The first parent, candidate or not (the culprit's parent in a report). */
  firstParent: (string | null)[];
  /** ancestors[i] = candidates reachable from i, i included. */
  ancestors: Bits[];
  /** Position in git's walk: git reverses rev-list order, so the oldest comes first. */
  gitOrder: number[];
}

const cache = new WeakMap<Dag, Graph>();

export function graphOf(dag: Dag): Graph {
  const hit = cache.get(dag);
  if (hit) return hit;
  const size = dag.commits.length;
  const shas = dag.commits.map((c) => c.sha);
  const index = new Map(shas.map((s, i) => [s, i] as const));
  const parents = dag.commits.map((c) => c.parents.map((p) => index.get(p)).filter((p): p is number => p !== undefined));
  // Ancestor sets need parents first; rev-list's date order does not promise
  // that when clocks are skewed, so walk the graph (iteratively: long chains).
  const ancestors: Bits[] = new Array<Bits>(size);
  const state = new Uint8Array(size); // 0 new, 1 open, 2 done
  for (let root = 0; root < size; root++) {
    if (state[root] === 2) continue;
    const stack = [root];
    while (stack.length > 0) {
      const i = stack[stack.length - 1]!;
      if (state[i] === 0) {
        state[i] = 1;
        for (const p of parents[i]!) if (state[p] === 0) stack.push(p);
        continue;
      }
      stack.pop();
      if (state[i] === 2) continue;
      const a = bits(size);
      setBit(a, i);
      for (const p of parents[i]!) orInto(a, ancestors[p]!);
      ancestors[i] = a;
      state[i] = 2;
    }
  }
  const gitOrder = shas.map((_, i) => size - 1 - i);
  const firstParent = dag.commits.map((c) => c.parents[0] ?? null);
  const g = { size, shas, index, parents, firstParent, ancestors, gitOrder };
  cache.set(dag, g);
  return g;
}
