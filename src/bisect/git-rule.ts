// git bisect's choice of the next commit, reproduced as a rule (from its
// documented behaviour and bisect.c's algorithm, not its code), so that a
// one-probe round picks what `git bisect` would pick, tie-breaks included:
//
// - weight(c) = candidates c reaches, itself included; the best commit
//   maximises min(weight, N − weight);
// - with no commit ever skipped, git walks the candidates oldest first,
//   merges before the rest, and takes the first commit that is about
//   halfway, else the first best one in that walk;
// - once any commit was skipped, the candidates are sorted by that distance
//   (then by sha) and skipped ones are dropped; if the best was skipped, a
//   fixed pseudo-random draw biased to the front of the list picks one
//   "away" from it, because untestable commits come in clusters.
import { countAnd, hasBit, members, type Bits } from './bitset.ts';
import type { Graph } from './graph.ts';

export interface GitRuleInput {
  /** The candidates still possible (git's rev-list BAD ^GOOD…), bad included. */
  remaining: Bits;
  /** Every commit ever skipped, in or out of `remaining` (git's refs/bisect/skip-*). */
  skipped: ReadonlySet<number>;
  /** The current bad commit, when it is among the remaining. */
  bad: number | null;
}

export function weights(g: Graph, remaining: Bits, list: readonly number[]): Map<number, number> {
  return new Map(list.map((c) => [c, countAnd(g.ancestors[c]!, remaining)] as const));
}

function approxHalfway(weight: number, n: number): boolean {
  const diff = 2 * weight - n;
  return Math.abs(diff) <= 1 || Math.abs(diff) < Math.trunc(n / 1024);
}

/** git's pick; the bad commit itself means nothing is left to test. */
export function gitChoice(g: Graph, input: GitRuleInput): number | null {
  const list = members(input.remaining).sort((a, b) => g.gitOrder[a]! - g.gitOrder[b]!);
  if (list.length === 0) return null;
  const n = list.length;
  const w = weights(g, input.remaining, list);
  const distance = (c: number): number => Math.min(w.get(c)!, n - w.get(c)!);
  const inRemaining = (c: number): boolean => hasBit(input.remaining, c);

  if (input.skipped.size === 0) {
    const known = new Set<number>();
    // merges are counted first, in walk order, and may stop the walk
    for (const c of list) {
      const ps = g.parents[c]!.filter(inRemaining);
      if (ps.length === 0) known.add(c);
      else if (ps.length >= 2) {
        known.add(c);
        if (approxHalfway(w.get(c)!, n)) return c;
      }
    }
    // then single-parent commits, each once its parent is counted
    while (known.size < n) {
      let progress = false;
      for (const c of list) {
        if (known.has(c)) continue;
        const p = g.parents[c]!.find(inRemaining);
        if (p === undefined || !known.has(p)) continue;
        known.add(c);
        progress = true;
        if (approxHalfway(w.get(c)!, n)) return c;
      }
      if (!progress) break;
    }
    let best = list[0]!;
    for (const c of list) if (distance(c) > distance(best)) best = c;
    return best;
  }

  const sorted = [...list].sort((a, b) => distance(b) - distance(a) || compareSha(g.shas[a]!, g.shas[b]!));
  if (!input.skipped.has(sorted[0]!)) return sorted[0]!;
  const filtered = sorted.filter((c) => !input.skipped.has(c));
  if (filtered.length === 0) return null;
  const index = skipAwayIndex(filtered.length);
  const at = filtered[index];
  if (at === undefined) return filtered[0]!;
  if (at !== input.bad) return at;
  return index > 0 ? filtered[index - 1]! : filtered[0]!;
}

function compareSha(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const PRN_MODULO = 32768;

/** git's draw: an index biased towards the front, a function of the count only. */
export function skipAwayIndex(count: number): number {
  // the C code does this in 32-bit unsigned arithmetic
  const seed = (Math.imul(count, 1103515245) + 12345) >>> 0;
  const prn = Math.floor(seed / 65536) % PRN_MODULO;
  return Math.trunc((Math.trunc((count * prn) / PRN_MODULO) * floatSqrt(prn)) / floatSqrt(PRN_MODULO));
}

/** Integer square root by Newton's method in single precision, as git computes it. */
function floatSqrt(val: number): number {
  if (val === 0) return 0;
  const f = Math.fround;
  let x = f(val);
  let d: number;
  do {
    const y = f(f(x + f(f(val) / x)) / 2);
    d = y > x ? f(y - x) : f(x - y);
    x = y;
  } while (d >= 0.5);
  return Math.trunc(x);
}
