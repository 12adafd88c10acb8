// Failure rates that are not known: a Beta prior, integrated out. For a
// rate p ~ Beta(a, b), the chance of one particular sequence of f failures
// and s passes is B(a + f, b + s) / B(a, b) (the Beta–Bernoulli marginal),
// so the posterior over the first bad commit never needs p itself. Logs
// throughout: a bisect multiplies hundreds of these.

/** A Beta(a, b) prior on a failure rate. */
export interface RatePrior {
  a: number;
  b: number;
}

/**
 * Jeffreys' prior, Beta(½, ½): no failure rate is favoured, and it keeps
 * real weight near 0 and near 1. A prior leaning towards "tests are
 * deterministic" would make a flaky pass at a bad commit look like proof
 * that the commit is good — confident and wrong (git bayesect warns of
 * the same for its priors).
 */
export const JEFFREYS: RatePrior = { a: 0.5, b: 0.5 };

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7: about 15 significant digits). */
export function lgamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - lgamma(1 - x);
  const z = x - 1;
  let s = LANCZOS[0]!;
  for (let i = 1; i < 9; i++) s += LANCZOS[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

export function logBeta(a: number, b: number): number {
  return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/** ln P(a given sequence with `fails` failures and `passes` passes), the rate integrated out. */
export function logMarginal(prior: RatePrior, fails: number, passes: number): number {
  if (fails === 0 && passes === 0) return 0;
  return logBeta(prior.a + fails, prior.b + passes) - logBeta(prior.a, prior.b);
}

/**
 * Memoised logMarginal for one prior: the selection asks for the same
 * counts again and again. 'certain' is the rate known to be 1: any pass is
 * impossible (a deterministic test).
 */
export function marginalTable(prior: RatePrior | 'certain'): (fails: number, passes: number) => number {
  if (prior === 'certain') return (_f, s) => (s > 0 ? -Infinity : 0);
  const memo = new Map<number, number>();
  return (f, s) => {
    const key = f * 1_000_003 + s;
    let v = memo.get(key);
    if (v === undefined) {
      v = logMarginal(prior, f, s);
      memo.set(key, v);
    }
    return v;
  };
}

/**
 * The failure rate a commit that passed `passes` times out of `passes`
 * runs has, at most, at the given level: 1 − (1 − level)^(1/n). What "it
 * fails less often than …" means in a message.
 */
export function rateBound(passes: number, level: number): number {
  if (passes <= 0) return 1;
  return 1 - (1 - level) ** (1 / passes);
}

/**
 * P(rate of x > rate of y) with Jeffreys posteriors from each one's own
 * counts, by integrating on a grid: whether the bad end fails more often
 * than the good end when failures before the culprit are allowed.
 */
export function probGreater(x: { fails: number; passes: number }, y: { fails: number; passes: number }, prior: RatePrior = JEFFREYS): number {
  const n = 2000;
  const density = (c: { fails: number; passes: number }): Float64Array => {
    const d = new Float64Array(n);
    const a = prior.a + c.fails;
    const b = prior.b + c.passes;
    let total = 0;
    for (let i = 0; i < n; i++) {
      const p = (i + 0.5) / n;
      d[i] = Math.exp((a - 1) * Math.log(p) + (b - 1) * Math.log(1 - p));
      total += d[i]!;
    }
    for (let i = 0; i < n; i++) d[i]! /= total;
    return d;
  };
  const dx = density(x);
  const dy = density(y);
  let below = 0; // P(rate of y < the current grid point)
  let p = 0;
  for (let i = 0; i < n; i++) {
    p += dx[i]! * (below + dy[i]! / 2);
    below += dy[i]!;
  }
  return Math.min(1, Math.max(0, p));
}
