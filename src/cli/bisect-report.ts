// The bisect as text on a terminal: the answer, what it means, and the
// evidence in history order (bisect run, bisect show), plus the live lines
// of a running bisect (each round as it starts, each run as it ends).
import type { Status } from '../bisect/engine.ts';
import { likelyNote } from '../bisect/bayes/status.ts';
import { evidenceRows, type EvidenceRow } from '../bisect/evidence.ts';
import type { BisectResult, BisectSpec, Dag, Observation, ProbeRequest } from '../bisect/types.ts';

const short = (sha: string): string => sha.slice(0, 12);
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function roundLine(round: number, probes: ProbeRequest[], st: Status, asked?: number): string {
  const runs = probes.reduce((n, p) => n + p.runs, 0);
  const what = probes.map((p) => `${short(p.sha).slice(0, 8)}${p.why === 'search' ? '' : `(${p.why})`}${p.runs > 1 ? `×${p.runs}` : ''}`).join(' ');
  const best = st.best && st.best.p >= 0.1 ? ` · most likely ${st.best.sha.slice(0, 8)} (${likelyNote(st.best.p, asked)})` : '';
  return `round ${round}: probing ${plural(probes.length, 'commit')} (${plural(runs, 'run')}) ${what} · ${st.remaining} candidate${st.remaining === 1 ? '' : 's'} left · ${st.judged} judged${best}`;
}

/** One finished run, as it arrives. */
export function runLine(run: { seq: number; sha: string; code: number | null; ms: number }, obs: readonly Observation[], done: number, total: number): string {
  const said = obs.length === 0 ? 'no result' : obs[0]!.value !== undefined ? `${plural(obs.length, 'sample')} (${obs.map((o) => o.value).join(', ')})` : { good: 'passed', bad: 'FAILED', skip: 'untestable', infra: 'infra' }[obs[0]!.outcome];
  return `  run ${run.seq}: ${run.sha.slice(0, 8)} ${said} (exit ${run.code ?? 'signal'}, ${(run.ms / 1000).toFixed(1)} s) · ${done}/${total} this round`;
}

export interface ReportExtras {
  /** With the candidate graph, merged branches are indented under their merge. */
  dag?: Dag;
  /** The culprit's failing run: its output's tail is shown. */
  culpritRun?: { seq: number; code: number | null; log: string; tail: string };
  logDir?: string;
}

export function formatReport(r: BisectResult, spec: Pick<BisectSpec, 'criterion' | 'metric' | 'confidence'>, subjects: Map<string, string>, extras: ReportExtras = {}): string {
  const lines: string[] = [];
  const name = (sha: string): string => `${sha} ${subjects.get(sha) ?? ''}`.trimEnd();
  if (r.first_bad !== null) {
    lines.push(`first bad commit: ${name(r.first_bad)}`);
    if (r.parent !== null) lines.push(`parent:           ${name(r.parent)}`);
    const asked = r.stop !== undefined ? ` (asked for ${spec.confidence ?? 0.95}${r.stop === 'budget' ? '; the run budget ran out first' : ''})` : '';
    lines.push(`confidence:       ${r.confidence.toFixed(3)}${asked}`);
  } else if (r.reason === 'only-skipped') {
    lines.push('no single first bad commit: only commits that could not be tested are left.');
    lines.push('The first bad commit could be any of:');
    for (const c of r.candidates ?? []) lines.push(`  ${name(c)}`);
  } else if (r.reason === 'no-regression') {
    lines.push(spec.criterion === 'perf' ? `no regression: the bad commit is not measurably worse than the good one${spec.metric ? ` in ${spec.metric}` : ''}.` : 'no regression shown: the bad end did not test bad.');
  } else {
    lines.push('no first bad commit: the runs contradict each other.');
    for (const c of r.candidates ?? []) lines.push(`  ${name(c)}`);
  }
  if (r.message) lines.push(r.message);
  lines.push(`${plural(r.probes, 'commit')} probed · ${plural(r.samples, 'run')} · ${plural(r.rounds, 'round')} · ${r.skipped.length} skipped`);
  lines.push('', 'evidence (history order, newest first; merged branches indented):');
  lines.push(...evidenceTable(evidenceRows(r, extras.dag, subjects)));
  if (extras.culpritRun) {
    const c = extras.culpritRun;
    const tail = c.tail.trimEnd().split('\n').slice(-12);
    lines.push('', `the first bad commit's failing run ${c.seq} (exit ${c.code ?? 'signal'}), last lines of ${c.log}:`);
    for (const l of tail) lines.push(`  | ${l}`);
  }
  if (extras.logDir) lines.push('', `every run's output: ${extras.logDir}`);
  return lines.join('\n') + '\n';
}

/** Compact rows: verdict, one glyph per run, counts, probabilities or p-values, commit; a rule at the boundary. */
export function evidenceTable(rows: readonly EvidenceRow[]): string[] {
  const out: string[] = [];
  for (const row of rows) {
    const indent = '  '.repeat(row.depth);
    const what = row.end ? `${row.says} (${row.end} end)` : row.says;
    const cells = [`${indent}${what}`.padEnd(18)];
    if (row.samples !== undefined) {
      cells.push(`n=${row.samples.length}`.padEnd(5), `median ${row.median === undefined ? '-' : row.median.toPrecision(6)}`.padEnd(16));
      if (row.p_values) cells.push(`p(worse than good) ${fmtP(row.p_values.vs_good)}  p(better than bad) ${fmtP(row.p_values.vs_bad)}`);
    } else {
      cells.push(glyphs(row).padEnd(13), `${row.fails}/${row.fails + row.passes} failed`.padEnd(12));
      if (row.p_bad !== undefined) cells.push(`P(bad) ${row.p_bad.toFixed(3)}`, row.posterior !== undefined && row.posterior >= 0.001 ? `P(first bad) ${row.posterior.toFixed(3)}` : ''.padEnd(18));
    }
    cells.push(`${short(row.sha)}${row.subject ? ` ${row.subject}` : ''}${row.boundary === 'first_bad' ? '  ← first bad' : row.candidate ? '  ← may be the first bad' : ''}`);
    out.push(`  ${cells.join(' ')}`);
    if (row.boundary === 'first_bad') out.push(`  ${'─'.repeat(24)} boundary ${'─'.repeat(24)}`);
  }
  return out;
}

function glyphs(row: EvidenceRow): string {
  const g = row.outcomes.map((o) => ({ bad: '✗', good: '✓', skip: '·', infra: '!' })[o]).join('');
  return g.length > 12 ? `${g.slice(0, 11)}…` : g;
}

function fmtP(p: number): string {
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}
