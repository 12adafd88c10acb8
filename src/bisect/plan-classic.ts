// The classic rules' rounds: perf (rank tests against the ends) and the
// majority rule for build/function. Each commit gets a verdict from its
// own runs; the search is git's rule on the commits every verdict allows,
// generalised to K probes; the culprit and its parent are confirmed.
import { andNot, bits, clearBit, count, hasBit, members, setBit } from './bitset.ts';
import { buildResult } from './result.ts';
import { countable, reference, type Model } from './model.ts';
import { remainingOf, type Remaining } from './remaining.ts';
import { selectProbes } from './select.ts';
import { countRuns, samplesOf } from './verdict.ts';
import type { BisectResult, ProbeRequest } from './types.ts';
import type { NextOptions } from './types.ts';

export type Plan = { probes: ProbeRequest[] } | { done: BisectResult };

export function planClassic(m: Model, slots: number, options: NextOptions): Plan {
  const { spec, graph: g, dag } = m;
  const goodEnd = dag.good[0]!;
  const mandatory: ProbeRequest[] = [];
  const ask = (sha: string, runs: number, why: ProbeRequest['why']): void => {
    const have = mandatory.find((p) => p.sha === sha);
    if (have) have.runs = Math.max(have.runs, runs);
    else mandatory.push({ sha, runs, why });
  };
  // look-ups only: records are created by the log alone, so a replay sees the same order
  const sampleCount = (sha: string): number => {
    const c = m.commits.get(sha);
    if (!c) return 0;
    return spec.criterion === 'perf' ? samplesOf(c.runs).length : countable(c);
  };
  const room = (sha: string): number => Math.min(spec.increment, spec.maxRuns - sampleCount(sha));

  // majority: a bad end that its own runs judge good is not bad (it is run when it is the culprit to confirm)
  const badEnd = m.commits.get(dag.bad);
  if (spec.criterion !== 'perf' && badEnd && countable(badEnd) > 0) {
    const n = countRuns(badEnd.runs);
    if (n.good > n.bad) return { done: buildResult(m, { reason: 'no-regression', firstBad: null, candidates: [] }) };
  }

  // perf: both ends measured, and measurably apart, before anything is judged
  if (spec.criterion === 'perf' && !m.endsDiffer) {
    const ends = [goodEnd, dag.bad];
    const short = ends.filter((s) => sampleCount(s) < spec.endRuns);
    for (const s of short) ask(s, spec.endRuns - sampleCount(s), 'end');
    if (short.length === 0) {
      for (const s of ends) if (room(s) > 0) ask(s, room(s), 'end');
      if (mandatory.length === 0) return { done: buildResult(m, { reason: 'no-regression', firstBad: null, candidates: [] }) };
    }
  }

  const r = remainingOf(m);
  if (r.size === 0) {
    // A good commit above a bad one: one of the two verdicts is wrong (noise,
    // a flaky test, several probes in one round). Measure both again; their
    // verdicts are re-judged on all their runs. Only when no run can be added
    // is the evidence reported as inconsistent.
    for (const sha of contradictions(m)) if (room(sha) > 0) ask(sha, Math.min(spec.repeat, spec.maxRuns - sampleCount(sha)), 'more');
    if (mandatory.length > 0) return { probes: mandatory };
    return { done: buildResult(m, { reason: 'inconsistent', firstBad: null, candidates: [] }) };
  }

  const requested = new Set(m.rounds.flatMap((round) => round.map((p) => p.sha)));
  const probed = bits(g.size);
  const fixed: number[] = [];
  for (const c of m.commits.values()) {
    if (c.node !== undefined && requested.has(c.sha)) setBit(probed, c.node);
    const inPlay = c.node !== undefined && hasBit(r.set, c.node);
    if (c.judgement === 'more' && countable(c) === c.judgedRuns && (inPlay || c.confirmAsked)) {
      // unclear, and it still matters: more runs
      ask(c.sha, spec.increment, 'more');
      if (inPlay) fixed.push(c.node!);
      if (spec.criterion === 'perf') {
        // keep each reference at least as large as the sample it judges
        const n = samplesOf(c.runs).length;
        for (const [side, end] of [['good', goodEnd], ['bad', dag.bad]] as const) {
          if (reference(m, side, c.sha).length < n + spec.increment && room(end) > 0) ask(end, room(end), 'end');
        }
      }
    } else if (inPlay && c.verdict === 'pending' && c.given === undefined && requested.has(c.sha)) {
      fixed.push(c.node!); // measured, waiting for the ends to differ
    }
  }

  const open = andNot(r.set, probed);
  if (r.bad !== null) clearBit(open, r.bad);
  for (const s of r.skipped) clearBit(open, s);

  if (mandatory.length === 0 && fixed.length === 0 && count(open) === 0) return finish(m, r);

  const picks = selectProbes(g, {
    remaining: r.set,
    open,
    fixed,
    skipped: r.skipped,
    bad: r.bad,
    slots: Math.max(0, slots - mandatory.length),
    cacheRank: options.cacheRank,
    cachedTolerance: spec.cachedTolerance,
  });
  // perf with interleaveEnds: a fresh sample of each end every round, so the references
  // follow a machine whose speed drifts during the bisect (they may outgrow maxRuns)
  if (spec.criterion === 'perf' && spec.interleaveEnds && m.endsDiffer && (mandatory.length > 0 || picks.length > 0)) {
    for (const end of [goodEnd, dag.bad]) if (sampleCount(end) < 3 * spec.maxRuns && !mandatory.some((p) => p.sha === end)) mandatory.push({ sha: end, runs: 1, why: 'end' });
  }
  const probes = [...mandatory, ...picks.map((i) => ({ sha: g.shas[i]!, runs: spec.repeat, why: 'search' as const }))];
  return probes.length > 0 ? { probes } : finish(m, r);
}

/** Candidates judged good that can reach a candidate judged bad, and those bad ones. */
function contradictions(m: Model): string[] {
  const judged = [...m.commits.values()].filter((c) => c.node !== undefined && c.given === undefined);
  const out = new Set<string>();
  for (const g of judged.filter((c) => c.verdict === 'good')) {
    for (const b of judged.filter((c) => c.verdict === 'bad')) {
      if (hasBit(m.graph.ancestors[g.node!]!, b.node!)) out.add(g.sha).add(b.sha);
    }
  }
  return [...out];
}

/** Nothing left to search: confirm the boundary, or report what is known. */
function finish(m: Model, r: Remaining): Plan {
  const g = m.graph;
  const left = members(r.set);
  if (r.bad === null || left.length > 1) {
    const candidates = left.map((i) => g.shas[i]!);
    const reason = left.every((i) => r.skipped.has(i) || i === r.bad) ? 'only-skipped' : 'inconsistent';
    return { done: buildResult(m, { reason, firstBad: null, candidates }) };
  }
  const culprit = g.shas[r.bad]!;
  const parent = g.firstParent[r.bad] ?? null;
  if (m.spec.confirm) {
    const again: ProbeRequest[] = [];
    for (const sha of [culprit, parent]) {
      if (sha !== null && !(m.commits.get(sha)?.confirmAsked ?? false)) again.push({ sha, runs: m.spec.repeat, why: 'confirm' });
    }
    if (again.length > 0) return { probes: again };
  }
  return { done: buildResult(m, { reason: 'found', firstBad: culprit, candidates: [] }) };
}
