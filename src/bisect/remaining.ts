// Which candidates may still be the first bad commit: those every bad
// commit can reach (the culprit is an ancestor of each of them) and no good
// commit can reach. With one bad commit at a time, as in git, this is
// `rev-list BAD ^GOOD…`; with several probes per round it is the
// intersection over all the bad ones.
import { and, andNot, bits, count, hasBit, orInto, setBit } from './bitset.ts';
import type { Bits } from './bitset.ts';
import type { Model } from './model.ts';

export interface Remaining {
  set: Bits;
  size: number;
  /** The one bad commit inside the set (all others are its ancestors), if any. */
  bad: number | null;
  skipped: Set<number>;
}

export function remainingOf(m: Model): Remaining {
  const g = m.graph;
  let set = bits(g.size);
  for (let i = 0; i < g.size; i++) setBit(set, i);
  const excluded = bits(g.size);
  const skipped = new Set<number>();
  for (const c of m.commits.values()) {
    if (c.node === undefined) continue;
    if (c.verdict === 'bad') set = and(set, g.ancestors[c.node]!);
    else if (c.verdict === 'good') orInto(excluded, g.ancestors[c.node]!);
    else if (c.verdict === 'skip') skipped.add(c.node);
  }
  set = andNot(set, excluded);
  let bad: number | null = null;
  for (const c of m.commits.values()) if (c.node !== undefined && c.verdict === 'bad' && hasBit(set, c.node)) bad = c.node;
  return { set, size: count(set), bad, skipped };
}
