// git bayesect's rule, re-derived from its write-up (no code of it here), as
// a baseline that runs on the same seeded histories and draws as stacklab:
// on a linear history, a posterior over the first bad commit with both
// failure rates unknown under Jeffreys' prior and integrated out; each run
// goes to the commit whose outcome leaves the least expected entropy, the
// rates taken at their posterior means; it stops when the most likely
// commit reaches the confidence. It never measures the ends apart from the
// search and has no budget. bench/bisect-flaky.ts compares it with
// stacklab's rule, which must pay for ends that are shown what the user
// said they are.
import type { Dag } from '../../src/bisect/types.ts';
import { logBeta } from '../../src/bisect/bayes/rates.ts';
import { prng } from './prng.ts';
import { descendants, type FlakyScenario } from './flaky-sim.ts';

export interface RuleOutcome {
  right: boolean;
  runs: number;
}

/** Oldest first: the good end, then the candidates, the bad end last. Linear histories only. */
function lineOf(dag: Dag): string[] {
  const line = dag.commits.map((c) => c.sha).reverse();
  if (dag.commits.some((c) => c.parents.length > 1)) throw new Error('the bayesect rule is for linear histories');
  return [...dag.good, ...line];
}

function entropy(w: Float64Array): number {
  let s = 0;
  for (const x of w) s += x;
  if (s <= 0) return 0;
  let h = 0;
  for (const x of w) if (x > 0) h -= (x / s) * Math.log(x / s);
  return h;
}

export function simulateBayesectRule(s: FlakyScenario, seed: number, confidence = 0.95, maxRuns = 5000): RuleOutcome {
  const line = lineOf(s.dag);
  const n = line.length;
  const bad = descendants(s.dag, s.culprit);
  const rand = prng(seed ^ 0x5bd1e995);
  const fails = new Array<number>(n).fill(0);
  const total = new Array<number>(n).fill(0);
  // hypothesis c (1..n−1): commits c.. are after the culprit
  const post = new Float64Array(n);
  const fa = new Array<number>(n).fill(0);
  const ta = new Array<number>(n).fill(0);
  for (let runs = 0; ; runs++) {
    let f = 0;
    let t = 0;
    for (let c = n - 1; c >= 1; c--) {
      f += fails[c]!;
      t += total[c]!;
      fa[c] = f;
      ta[c] = t;
    }
    const F = f + fails[0]!;
    const T = t + total[0]!;
    let top = -Infinity;
    for (let c = 1; c < n; c++) {
      post[c] = logBeta(0.5 + fa[c]!, 0.5 + ta[c]! - fa[c]!) + logBeta(0.5 + F - fa[c]!, 0.5 + T - ta[c]! - (F - fa[c]!));
      if (post[c]! > top) top = post[c]!;
    }
    let z = 0;
    for (let c = 1; c < n; c++) z += post[c] = Math.exp(post[c]! - top);
    let best = 1;
    for (let c = 1; c < n; c++) {
      post[c]! /= z;
      if (post[c]! > post[best]!) best = c;
    }
    if (post[best]! >= confidence || runs >= maxRuns) return { right: line[best] === s.culprit, runs };
    const pNew = (c: number): number => (0.5 + fa[c]!) / (1 + ta[c]!);
    const pOld = (c: number): number => (0.5 + F - fa[c]!) / (1 + T - ta[c]!);
    let pick = 0;
    let least = Infinity;
    const yes = new Float64Array(n);
    const no = new Float64Array(n);
    for (let k = 0; k < n; k++) {
      let pYes = 0;
      for (let c = 1; c < n; c++) {
        const p = k >= c ? pNew(c) : pOld(c);
        yes[c] = post[c]! * p;
        no[c] = post[c]! * (1 - p);
        pYes += yes[c]!;
      }
      const e = pYes * entropy(yes) + (1 - pYes) * entropy(no);
      // ties: the commit nearest the middle
      if (e < least - 1e-12 || (Math.abs(e - least) <= 1e-12 && Math.abs(k - n / 2) < Math.abs(pick - n / 2))) {
        least = e;
        pick = k;
      }
    }
    const sha = line[pick]!;
    total[pick]!++;
    if (rand() < (bad.has(sha) ? s.pNew : s.pOld)) fails[pick]!++;
  }
}
