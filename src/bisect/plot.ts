// The evidence of a bisect drawn as an SVG: one mark per commit tested, in
// history order from the good end (left) to the bad end (right), its
// failure rate (pass/fail tests) or its samples and median (perf) on the
// vertical axis, coloured by verdict, and the boundary between the parent
// and the first bad commit marked. Pure string building, so the server's
// dashboard, the CLI and tests draw the same picture; it lives with the
// engine because it reads only the engine's result. Every text is escaped
// (subjects come from commit messages).
import type { EvidenceRow } from './evidence.ts';
import type { BisectResult } from './types.ts';

export interface PlotOptions {
  width?: number;
  height?: number;
  /** perf: the metric's name for the axis. */
  metric?: string;
}

const COLOURS: Record<string, string> = { bad: '#c62828', good: '#2e7d32', skip: '#9e9e9e', pending: '#ef8f00' };

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const fmt = (x: number): string => (Math.abs(x) >= 1000 || (Math.abs(x) < 0.01 && x !== 0) ? x.toExponential(2) : Number(x.toPrecision(4)).toString());

/** `rows` as evidenceRows() gives them (history order, newest first). */
export function plotSvg(rows: readonly EvidenceRow[], result: BisectResult, opts: PlotOptions = {}): string {
  const width = opts.width ?? 720;
  const height = opts.height ?? 260;
  const left = 56;
  const right = 16;
  const top = 24;
  const bottom = 58; // room for the rotated commit labels above the 'good end' / 'bad end' words
  const perf = rows.some((r) => r.samples !== undefined);
  const order = [...rows].reverse(); // oldest (good end) on the left
  const n = order.length;
  const step = n > 0 ? (width - left - right) / n : 0;
  const xOf = (i: number): number => left + step * (i + 0.5);
  const plotH = height - top - bottom;

  let lo = 0;
  let hi = 1;
  if (perf) {
    const all = order.flatMap((r) => r.samples ?? []);
    lo = all.length > 0 ? Math.min(...all) : 0;
    hi = all.length > 0 ? Math.max(...all) : 1;
    if (hi === lo) {
      hi += 1;
      lo -= 1;
    }
    const pad = (hi - lo) * 0.08;
    lo -= pad;
    hi += pad;
  }
  const yOf = (v: number): number => top + plotH * (1 - (v - lo) / (hi - lo));

  const out: string[] = [];
  const label = perf ? `${opts.metric ?? 'metric'} per commit` : 'failure rate per commit';
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="bisect-plot" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(label)}">`);
  out.push(`<title>${escapeXml(`${label}, oldest left; ${result.message ?? ''}`)}</title>`);
  out.push(`<rect x="${left}" y="${top}" width="${width - left - right}" height="${plotH}" fill="#fafafa" stroke="#ccc"/>`);
  // the vertical axis: three ticks
  for (const t of [lo, (lo + hi) / 2, hi]) {
    const y = yOf(t);
    out.push(`<line x1="${left - 4}" x2="${width - right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e0e0e0"/>`);
    out.push(`<text x="${left - 6}" y="${(y + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#555">${escapeXml(perf ? fmt(t) : `${Math.round(t * 100)} %`)}</text>`);
  }
  out.push(`<text x="${left}" y="${top - 8}" font-size="12" fill="#333">${escapeXml(label)}</text>`);

  // the range of untestable candidates, shaded
  const inRange = order.map((r, i) => (r.candidate ? i : -1)).filter((i) => i >= 0);
  if (inRange.length > 0) {
    const a = xOf(Math.min(...inRange)) - step / 2;
    const b = xOf(Math.max(...inRange)) + step / 2;
    out.push(`<rect class="range" x="${a.toFixed(1)}" y="${top}" width="${(b - a).toFixed(1)}" height="${plotH}" fill="#ef8f00" fill-opacity="0.12"/>`);
  }

  // the boundary: just left of the first bad commit
  const culprit = order.findIndex((r) => r.boundary === 'first_bad');
  if (culprit >= 0) {
    const x = xOf(culprit) - step / 2;
    out.push(`<line class="boundary" x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top - 4}" y2="${top + plotH + 4}" stroke="#c62828" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${(x + 3).toFixed(1)}" y="${top + 11}" font-size="11" fill="#c62828">first bad</text>`);
  }

  order.forEach((r, i) => {
    const x = xOf(i);
    const colour = COLOURS[r.verdict] ?? '#555';
    const short = r.sha.slice(0, 8);
    const tip = [`${short}${r.subject ? ` ${r.subject}` : ''}`, r.end ? `${r.end} end` : '', describe(r)].filter((t) => t !== '').join(' — ');
    out.push(`<g class="mark" data-sha="${escapeXml(r.sha)}" data-verdict="${escapeXml(r.verdict)}"><title>${escapeXml(tip)}</title>`);
    if (perf) {
      const xs = r.samples ?? [];
      xs.forEach((v, k) => {
        // spread a commit's samples across its slot, deterministically
        const dx = xs.length > 1 ? (k / (xs.length - 1) - 0.5) * Math.min(step * 0.6, 14) : 0;
        out.push(`<circle cx="${(x + dx).toFixed(1)}" cy="${yOf(v).toFixed(1)}" r="2" fill="${colour}" fill-opacity="0.55"/>`);
      });
      if (r.median !== undefined) out.push(`<line x1="${(x - Math.min(step * 0.4, 10)).toFixed(1)}" x2="${(x + Math.min(step * 0.4, 10)).toFixed(1)}" y1="${yOf(r.median).toFixed(1)}" y2="${yOf(r.median).toFixed(1)}" stroke="${colour}" stroke-width="2.5"/>`);
      if (xs.length === 0) out.push(cross(x, top + plotH - 8, colour));
    } else {
      const counted = r.fails + r.passes;
      if (counted === 0) out.push(cross(x, top + plotH - 8, colour));
      else {
        const radius = Math.min(3 + 2 * Math.sqrt(counted), Math.max(4, step * 0.45), 12);
        out.push(`<circle cx="${x.toFixed(1)}" cy="${yOf(r.fails / counted).toFixed(1)}" r="${radius.toFixed(1)}" fill="${colour}" fill-opacity="0.8" stroke="#fff"/>`);
      }
    }
    if (n <= 40) out.push(`<text x="${x.toFixed(1)}" y="${top + plotH + 14}" font-size="9" text-anchor="end" transform="rotate(-45 ${x.toFixed(1)} ${top + plotH + 14})" fill="#555">${escapeXml(short.slice(0, 7))}</text>`);
    out.push('</g>');
  });
  out.push(`<text x="${left}" y="${height - 4}" font-size="10" fill="#777">good end</text>`);
  out.push(`<text x="${width - right}" y="${height - 4}" font-size="10" text-anchor="end" fill="#777">bad end</text>`);
  out.push('</svg>');
  return out.join('\n');
}

function cross(x: number, y: number, colour: string): string {
  return `<path d="M${x - 4},${y - 4}L${x + 4},${y + 4}M${x - 4},${y + 4}L${x + 4},${y - 4}" stroke="${colour}" stroke-width="2"/>`;
}

function describe(r: EvidenceRow): string {
  const parts: string[] = [r.says];
  if (r.samples !== undefined) parts.push(`${r.samples.length} samples${r.median !== undefined ? `, median ${fmt(r.median)}` : ''}`);
  else parts.push(`${r.fails} failed, ${r.passes} passed${r.skips ? `, ${r.skips} untestable` : ''}`);
  if (r.p_bad !== undefined) parts.push(`P(bad) ${r.p_bad.toFixed(3)}`);
  if (r.posterior !== undefined && r.posterior >= 0.001) parts.push(`P(first bad) ${r.posterior.toFixed(3)}`);
  if (r.p_values) parts.push(`p worse than good ${fmt(r.p_values.vs_good)}, better than bad ${fmt(r.p_values.vs_bad)}`);
  return parts.join(', ');
}
