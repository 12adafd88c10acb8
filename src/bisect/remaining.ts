// Which candidates may still be the first bad commit: those every bad
// commit can reach (the culprit is an ancestor of each of them) and no good
// commit can reach. With one bad commit at a time, as in git, this is
// `rev-list BAD ^GOOD…`; with several probes per round it is the
// intersection over all the bad ones.
import { and, andNot, bits, count, hasBit, orInto, setBit } from './bitset.ts';
import type { Bits } from './bitset.ts';
import type { CommitRecord, Model } from './model.ts';
import type { Verdict } from './types.ts';

export interface Remaining {
  set: Bits;
  size: number;
  /** The one bad commit inside the set (all others are its ancestors), if any. */
  bad: number | null;
  skipped: Set<number>;
}

/** `verdict` reads a commit's verdict (default: the one the model judged). */
export function remainingOf(m: Model, verdict: (c: CommitRecord) => Verdict = (c) => c.verdict): Remaining {
  const g = m.graph;
  let set = bits(g.size);
  for (let i = 0; i < g.size; i++) setBit(set, i);
  const excluded = bits(g.size);
  const skipped = new Set<number>();
  for (const c of m.commits.values()) {
    if (c.node === undefined) continue;
    const v = verdict(c);
    if (v === 'bad') set = and(set, g.ancestors[c.node]!);
    else if (v === 'good') orInto(excluded, g.ancestors[c.node]!);
    else if (v === 'skip') skipped.add(c.node);
  }
  set = andNot(set, excluded);
  let bad: number | null = null;
  for (const c of m.commits.values()) if (c.node !== undefined && verdict(c) === 'bad' && hasBit(set, c.node)) bad = c.node;
  return { set, size: count(set), bad, skipped };
}
