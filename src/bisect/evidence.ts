// The evidence of a bisect as rows people read: one per commit tested, in
// history order (history.ts), with what its runs said (passes and
// failures, or samples and their median), what the engine concluded
// (verdict, P(bad) and P(first bad), or the p-values) and where it sits
// against the answer. Pure: the CLI prints these rows, the dashboard and
// plot.ts draw them.
import { historyOrder, type HistoryEntry } from './history.ts';
import type { BisectResult, Dag, Evidence, Verdict } from './types.ts';

export interface EvidenceRow {
  sha: string;
  subject?: string;
  /** 0 on the bad end's first-parent chain, 1 on a merged branch, …; 0 without a Dag. */
  depth: number;
  end?: 'good' | 'bad';
  verdict: Verdict;
  /** What the verdict means, in words ('pending' is never shown bare). */
  says: string;
  fails: number;
  passes: number;
  skips: number;
  infra: number;
  /** Every run's outcome in the order reported. */
  outcomes: Evidence['outcomes'];
  /** perf */
  samples?: number[];
  median?: number;
  p_values?: { vs_good: number; vs_bad: number };
  /** bayes */
  p_bad?: number;
  posterior?: number;
  /** This row is the first bad commit, or its parent: the boundary lies between them. */
  boundary?: 'first_bad' | 'parent';
  /** The answer is a range and this commit is in it. */
  candidate?: boolean;
}

export function median(xs: readonly number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function says(e: Evidence): string {
  switch (e.verdict) {
    case 'bad':
      return 'bad';
    case 'good':
      return 'good';
    case 'skip':
      return 'untestable';
    case 'pending':
      if (e.p_bad !== undefined) return 'unsure';
      if (e.samples !== undefined) return e.samples.length === 0 ? 'no samples' : 'unclear';
      return 'unsure';
  }
}

/**
 * The result's evidence as rows, in history order (the result already is;
 * with the Dag, or an evidence's own `depth`, the rows also get their branch depth). `subjects` names the
 * commits, e.g. from `git show -s --format=%s`.
 */
export function evidenceRows(result: BisectResult, dag?: Dag, subjects?: ReadonlyMap<string, string> | Record<string, string>): EvidenceRow[] {
  const info = new Map<string, HistoryEntry>();
  if (dag) for (const e of historyOrder(dag)) info.set(e.sha, e);
  const rank = new Map<string, number>();
  if (dag) historyOrder(dag).forEach((e, i) => rank.set(e.sha, i));
  const evidence = dag ? [...result.evidence].sort((a, b) => (rank.get(a.sha) ?? Infinity) - (rank.get(b.sha) ?? Infinity)) : result.evidence;
  const subjectOf = (sha: string): string | undefined => (subjects instanceof Map ? subjects.get(sha) : (subjects as Record<string, string> | undefined)?.[sha]);
  const range = new Set(result.candidates ?? []);
  return evidence.map((e) => {
    const n = { fails: 0, passes: 0, skips: 0, infra: 0 };
    for (const o of e.outcomes) {
      if (o === 'bad') n.fails++;
      else if (o === 'good') n.passes++;
      else if (o === 'skip') n.skips++;
      else n.infra++;
    }
    const row: EvidenceRow = { sha: e.sha, depth: info.get(e.sha)?.depth ?? e.depth ?? 0, verdict: e.verdict, says: says(e), ...n, outcomes: e.outcomes };
    const subject = subjectOf(e.sha);
    if (subject !== undefined) row.subject = subject;
    if (e.end) row.end = e.end;
    if (e.samples) {
      row.samples = e.samples;
      const m = median(e.samples);
      if (m !== undefined) row.median = m;
      // perf runs say whether a sample was taken, not good or bad: count them as samples only
      row.fails = 0;
      row.passes = 0;
    }
    if (e.p_values) row.p_values = e.p_values;
    if (e.p_bad !== undefined) row.p_bad = e.p_bad;
    if (e.posterior !== undefined) row.posterior = e.posterior;
    if (e.sha === result.first_bad) row.boundary = 'first_bad';
    else if (e.sha === result.parent) row.boundary = 'parent';
    if (range.has(e.sha)) row.candidate = true;
    return row;
  });
}
