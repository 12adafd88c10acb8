// The human-readable bisect report and progress lines (the JSON result is
// the engine's result as it is).
import type { Status } from '../bisect/engine.ts';
import type { BisectResult, BisectSpec, Evidence, ProbeRequest } from '../bisect/types.ts';

const short = (sha: string): string => sha.slice(0, 12);

export function roundLine(round: number, probes: ProbeRequest[], st: Status): string {
  const runs = probes.reduce((n, p) => n + p.runs, 0);
  const what = probes.map((p) => `${short(p.sha).slice(0, 8)}${p.why === 'search' ? '' : `(${p.why})`}`).join(' ');
  return `round ${round}: probing ${probes.length} commit${probes.length === 1 ? '' : 's'} (${runs} run${runs === 1 ? '' : 's'}) ${what} · ${st.remaining} candidate${st.remaining === 1 ? '' : 's'} left · ${st.judged} judged`;
}

export function formatReport(r: BisectResult, spec: BisectSpec, subjects: Map<string, string>): string {
  const lines: string[] = [];
  const name = (sha: string): string => `${sha} ${subjects.get(sha) ?? ''}`.trimEnd();
  if (r.first_bad !== null) {
    lines.push(`first bad commit: ${name(r.first_bad)}`);
    if (r.parent !== null) lines.push(`parent:           ${name(r.parent)}`);
    lines.push(`confidence:       ${r.confidence.toFixed(3)}`);
  } else if (r.reason === 'only-skipped') {
    lines.push('no single first bad commit: only skipped commits are left to test.');
    lines.push('The first bad commit could be any of:');
    for (const c of r.candidates ?? []) lines.push(`  ${name(c)}`);
  } else if (r.reason === 'no-regression') {
    lines.push(`no regression: the bad commit is not measurably worse than the good one${spec.metric ? ` in ${spec.metric}` : ''}.`);
  } else {
    lines.push('no first bad commit: the verdicts contradict each other (more than one regression, or a flaky test).');
    for (const c of r.candidates ?? []) lines.push(`  ${name(c)}`);
  }
  lines.push(`${r.probes} commits probed · ${r.samples} runs · ${r.rounds} rounds · ${r.skipped.length} skipped`);
  lines.push('', 'evidence:');
  for (const e of r.evidence) lines.push(`  ${evidenceLine(e)}`);
  return lines.join('\n') + '\n';
}

function evidenceLine(e: Evidence): string {
  const head = `${e.verdict.padEnd(7)} ${short(e.sha)}${e.end ? ` (${e.end} end)` : ''}`;
  if (e.samples === undefined) return `${head}  ${e.outcomes.join(' ')}`;
  const sorted = [...e.samples].sort((a, b) => a - b);
  const median = sorted.length === 0 ? NaN : sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
  const p = e.p_values ? `  p(worse than good)=${fmt(e.p_values.vs_good)} p(better than bad)=${fmt(e.p_values.vs_bad)}` : '';
  const skips = e.outcomes.filter((o) => o === 'skip').length;
  return `${head}  n=${e.samples.length} median=${Number.isNaN(median) ? '-' : median.toPrecision(6)}${skips ? ` skipped runs=${skips}` : ''}${p}`;
}

function fmt(p: number): string {
  return p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}
