// One question for perf bisection: is sample x shifted (in a given
// direction) from reference y? Both rank tests answer it and the smaller p
// is taken, as Chromium's Pinpoint does: MWU sees a shift of the middle,
// KS a change of shape, and taking the smaller makes either enough.
import type { Alternative } from './alternative.ts';
import { kolmogorovSmirnov } from './ks.ts';
import { mannWhitneyU } from './mwu.ts';

export function shiftP(x: readonly number[], y: readonly number[], alternative: Alternative): number {
  if (x.length === 0 || y.length === 0) return 1;
  return Math.min(mannWhitneyU(x, y, alternative).p, kolmogorovSmirnov(x, y, alternative).p);
}
