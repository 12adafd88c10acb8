// Which testbox takes each perf sample of a lab bisect (SPEC §7): a commit's
// samples go to the boxes that have measured it least, then to the least
// loaded, so every commit is measured across the lab's machines. Two boxes
// that differ in speed then add noise to every commit alike instead of
// making one commit look slower because it happened to run on the slow one.
// Pure: the driver pins the jobs to the boxes chosen here.

export interface Placed {
  sha: string;
  /** The box that ran it, holds it, or it is pinned to; null if none yet. */
  box: string | null;
  /** Not finished: it still occupies its box's queue. */
  open: boolean;
}

/** A box for each sample wanted, in order; undefined everywhere when there are fewer than two boxes (nothing to spread over). */
export function spreadSamples(boxes: readonly string[], wanted: readonly string[], placed: readonly Placed[]): (string | undefined)[] {
  if (boxes.length < 2) return wanted.map(() => undefined);
  const perCommit = new Map<string, number>();
  const load = new Map<string, number>();
  const key = (sha: string, box: string) => `${sha} ${box}`;
  for (const p of placed) {
    if (p.box === null) continue;
    perCommit.set(key(p.sha, p.box), (perCommit.get(key(p.sha, p.box)) ?? 0) + 1);
    if (p.open) load.set(p.box, (load.get(p.box) ?? 0) + 1);
  }
  return wanted.map((sha) => {
    let best = boxes[0]!;
    for (const box of boxes.slice(1)) {
      const d = (perCommit.get(key(sha, box)) ?? 0) - (perCommit.get(key(sha, best)) ?? 0) || (load.get(box) ?? 0) - (load.get(best) ?? 0);
      if (d < 0) best = box;
    }
    perCommit.set(key(sha, best), (perCommit.get(key(sha, best)) ?? 0) + 1);
    load.set(best, (load.get(best) ?? 0) + 1);
    return best;
  });
}
