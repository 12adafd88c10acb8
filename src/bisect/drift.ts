// A machine that drifts while it bisects (it warms up, a neighbour comes
// and goes): the step model compares each commit's samples with the ends'
// and with commits judged earlier, all assumed to measure alike whenever
// they ran. With interleaveEnds the ends are sampled every round, so
// what the machine did at each round can be read off them: an end's sample
// less that end's median is the drift at its round, plus noise.
//
// The estimate at a round is the median of those residuals within
// DRIFT_WINDOW rounds of it (a sample's own residual left out, so an end's
// adjusted samples keep their noise). It is then shrunk toward zero by how
// much of its spread across rounds the noise alone would give: a steady
// machine gets a factor near 0 (its samples are left as they were, and the
// noise of the estimate is not added to them), a drifting one a factor near
// 1. Over 1,000 seeded bisects per noise shape (bench/bisect-perf.ts) this
// takes drift from ≈ 95 % right to ≈ 97 % and leaves Gaussian, bimodal and
// heavy-tailed noise as they were; without the shrinkage bimodal noise fell
// to ≈ 93 %, the shared error of one round's estimate making two samples of
// a commit move together.

/** Rounds either side of a round whose end samples tell its drift (about 2 × 5 rounds × 2 ends ≈ 20 samples). */
export const DRIFT_WINDOW = 2;

/** One sample of an end: its value, the round it came in, and a key naming it. */
export interface EndSample {
  value: number;
  round: number;
  key: string;
}

export interface Drift {
  /** 0 (no drift told from noise) … 1. */
  factor: number;
  /** The drift at a round, the sample named `self` left out of the estimate. */
  at(round: number, self?: string): number;
}

export const NO_DRIFT: Drift = { factor: 0, at: () => 0 };

/** The drift the ends' samples show; `ends` holds each end's samples. */
export function estimateDrift(ends: readonly (readonly EndSample[])[]): Drift {
  const byRound = new Map<number, { r: number; key: string }[]>();
  for (const samples of ends) {
    if (samples.length === 0) continue;
    const mid = median(samples.map((s) => s.value));
    for (const s of samples) {
      let list = byRound.get(s.round);
      if (!list) byRound.set(s.round, (list = []));
      list.push({ r: s.value - mid, key: s.key });
    }
  }
  if (byRound.size < 2) return NO_DRIFT;
  const raw = (round: number, self?: string): { d: number; n: number } => {
    const near: number[] = [];
    for (let q = round - DRIFT_WINDOW; q <= round + DRIFT_WINDOW; q++) for (const e of byRound.get(q) ?? []) if (e.key !== self) near.push(e.r);
    return near.length > 0 ? { d: median(near), n: near.length } : { d: 0, n: 0 };
  };
  // spread of the estimates across rounds against what noise alone gives (a median of n: ≈ π/2 · σ²/n)
  let all = 0;
  let count = 0;
  for (const list of byRound.values()) {
    for (const e of list) {
      all += e.r * e.r;
      count++;
    }
  }
  const noise = all / count;
  let spread = 0;
  let expected = 0;
  for (const round of byRound.keys()) {
    const { d, n } = raw(round);
    spread += d * d;
    expected += ((Math.PI / 2) * noise) / n;
  }
  const factor = spread === 0 ? 0 : Math.max(0, 1 - expected / spread);
  if (factor === 0) return NO_DRIFT;
  return { factor, at: (round, self) => factor * raw(round, self).d };
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 ? s[k]! : (s[k - 1]! + s[k]!) / 2;
}
