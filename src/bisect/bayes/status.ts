// Progress of a Bayesian bisect in the engine's Status terms: "remaining"
// is the size of the credible set (the fewest commits that hold the
// confidence asked for), "judged" the commits whose P(bad) is settled
// either way, and the most likely first bad commit so far.
import type { Model } from '../model.ts';
import { badProbability, credibleSet, mostLikely } from './posterior.ts';
import { bayesView } from './view.ts';
import { confidenceOf } from './confidence.ts';
import { DEFAULT_CONFIDENCE } from '../spec.ts';

export interface BayesStatus {
  remaining: number;
  judged: number;
  samples: number;
  /** The most likely first bad commit so far and its posterior. */
  best?: { sha: string; p: number };
}

export function bayesStatus(m: Model): BayesStatus {
  const v = bayesView(m);
  if (v.post.impossible) return { remaining: 0, judged: 0, samples: v.runs };
  const conf = m.spec.confidence;
  let judged = 0;
  for (const c of m.commits.values()) {
    if (c.node === undefined || c.given !== undefined || c.runs.length === 0) continue;
    const p = badProbability(m.graph, v.post, c.node);
    if (p >= conf || p <= 1 - conf) judged++;
  }
  const top = mostLikely(m.graph, v.post);
  const out: BayesStatus = { remaining: credibleSet(v.post, conf).length, judged, samples: v.runs };
  if (top) out.best = { sha: m.graph.shas[top.node]!, p: Math.floor(confidenceOf(v, top.node) * 1000) / 1000 };
  return out;
}

/**
 * How a running bisect's most likely commit reads on a line: its confidence
 * and, below the one asked for, that it is what the bisect waits on ("1
 * candidate left" while the confidence is still short of it is not done).
 */
export function likelyNote(p: number, asked = DEFAULT_CONFIDENCE): string {
  return `${p.toFixed(2)}${p < asked ? `, stops at ${asked}` : ''}`;
}
