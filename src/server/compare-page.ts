// The dashboard's compare page (/ui/compare, GET /api/compare as HTML): a
// form for the grouping and the filters, lkp's side-by-side table, and an
// SVG of one stat's samples per group with each group's mean. Markup only
// through dashboard.ts's `html` (every value escaped) and, in the SVG,
// escapeXml — group values come from job files and may be anything.
import type { Comparison } from '../api/contract.ts';
import { escapeXml } from '../bisect/plot.ts';
import { Html, html, page } from './dashboard.ts';

const COLOURS = ['#1565c0', '#c62828', '#2e7d32', '#6a1b9a', '#ef6c00', '#00838f', '#5d4037', '#ad1457'];

const fmt = (x: number): string => {
  if (Number.isInteger(x) && Math.abs(x) < 1e15) return String(x); // counts read best whole
  return Math.abs(x) >= 1e9 || (Math.abs(x) < 0.01 && x !== 0) ? x.toExponential(3) : String(Number(x.toPrecision(6)));
};
const pct = (x: number | null | undefined, sign = false) => (x == null ? '' : `${sign && x >= 0 ? '+' : ''}${x.toFixed(Math.abs(x) < 10 ? 1 : 0)}%`);

/** One stat's samples, a column per group (base first), each group's mean as a bar. */
export function compareSvg(c: Comparison, stat: string, width = 720, height = 260): string {
  const row = c.stats.find((s) => s.stat === stat);
  const left = 64;
  const right = 16;
  const top = 24;
  const bottom = 48;
  const plotH = height - top - bottom;
  const groups = row?.groups ?? [];
  const all = groups.flatMap((g) => g.samples);
  let lo = all.length ? Math.min(...all) : 0;
  let hi = all.length ? Math.max(...all) : 1;
  if (hi === lo) {
    const d = Math.abs(hi) * 0.05 || 1;
    hi += d;
    lo -= d;
  }
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const n = Math.max(groups.length, 1);
  const step = (width - left - right) / n;
  const xOf = (i: number) => left + step * (i + 0.5);
  const yOf = (v: number) => top + plotH * (1 - (v - lo) / (hi - lo));
  const label = `${stat} per ${c.group_by}`;
  const o: string[] = [];
  o.push(`<svg xmlns="http://www.w3.org/2000/svg" class="compare-plot" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeXml(label)}">`);
  o.push(`<title>${escapeXml(label)}</title>`);
  o.push(`<rect x="${left}" y="${top}" width="${width - left - right}" height="${plotH}" fill="#fafafa" stroke="#ccc"/>`);
  for (const t of [lo, (lo + hi) / 2, hi]) {
    const y = yOf(t).toFixed(1);
    o.push(`<line x1="${left - 4}" x2="${width - right}" y1="${y}" y2="${y}" stroke="#e0e0e0"/>`);
    o.push(`<text x="${left - 6}" y="${(Number(y) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#555">${escapeXml(fmt(t))}</text>`);
  }
  o.push(`<text x="${left}" y="${top - 8}" font-size="12" fill="#333">${escapeXml(label)}</text>`);
  groups.forEach((g, i) => {
    const x = xOf(i);
    const colour = COLOURS[i % COLOURS.length]!;
    const info = c.groups[i];
    const tip = `[${i}] ${info?.label ?? ''}: ${g.n} sample(s)${g.mean !== null ? `, mean ${fmt(g.mean)}` : ''}${g.change?.change_pct != null ? `, ${pct(g.change.change_pct, true)}` : ''}`;
    o.push(`<g class="group" data-index="${i}" data-samples="${g.samples.length}"><title>${escapeXml(tip)}</title>`);
    g.samples.forEach((v, k) => {
      const dx = g.samples.length > 1 ? (k / (g.samples.length - 1) - 0.5) * Math.min(step * 0.5, 24) : 0;
      o.push(`<circle class="sample" cx="${(x + dx).toFixed(1)}" cy="${yOf(v).toFixed(1)}" r="3" fill="${colour}" fill-opacity="0.6"/>`);
    });
    if (g.mean !== null) {
      const w = Math.min(step * 0.35, 20);
      o.push(`<line class="mean" x1="${(x - w).toFixed(1)}" x2="${(x + w).toFixed(1)}" y1="${yOf(g.mean).toFixed(1)}" y2="${yOf(g.mean).toFixed(1)}" stroke="${colour}" stroke-width="2.5"/>`);
    }
    const text = (info?.label ?? '').slice(0, 24);
    o.push(`<text x="${x.toFixed(1)}" y="${top + plotH + 16}" font-size="10" text-anchor="middle" fill="#444">[${i}] ${escapeXml(text)}</text>`);
    if (g.change?.change_pct != null) o.push(`<text x="${x.toFixed(1)}" y="${top + plotH + 30}" font-size="10" text-anchor="middle" fill="${g.change.significant ? '#c62828' : '#777'}">${escapeXml(`${pct(g.change.change_pct, true)}${g.change.mark ? ` ${g.change.mark}` : ''}`)}</text>`);
    o.push('</g>');
  });
  o.push('</svg>');
  return o.join('\n');
}

export interface CompareForm {
  group_by?: string | undefined;
  suite?: string | undefined;
  pkg?: string | undefined;
  commit?: string | undefined;
  bisect?: string | undefined;
  ids?: string | undefined;
  stat?: string | undefined;
  where?: string | undefined;
  base?: string | undefined;
  plot?: string | undefined;
}

function form(f: CompareForm): Html {
  const input = (name: keyof CompareForm, hint: string) => html`<label>${name} <input name="${name}" value="${f[name] ?? ''}" placeholder="${hint}" size="18"></label> `;
  return html`<form method="get" action="/ui/compare" class="filters">
${input('group_by', 'ss.linux.commit')}${input('suite', 'suite')}${input('pkg', 'ss package')}${input('commit', 'sha prefix')}${input('bisect', 'bisect id')}${input('ids', '12,13,14')}${input('stat', 'name contains')}${input('where', 'labels.run=x')}${input('base', 'base group')}<button type="submit">compare</button>
</form>`;
}

/** The page: the form; with a comparison, its groups, the plot of `plot` (or the first stat) and the table. */
export function comparePage(f: CompareForm, c: Comparison | undefined, problem?: string): string {
  const chosen = c ? (c.stats.find((s) => s.stat === f.plot) ?? c.stats[0]) : undefined;
  const link = (stat: string) => {
    const q = new URLSearchParams(Object.entries({ ...f, plot: stat }).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== ''));
    return `/ui/compare?${q.toString()}`;
  };
  const api = `/api/compare?${new URLSearchParams(Object.entries(f).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '' && e[0] !== 'plot')).toString()}`;
  const body = html`<h1>Compare ${c ? html`<span class="muted">by ${c.group_by}</span>` : ''}</h1>
${form(f)}
${problem ? html`<p class="failed">${problem}</p>` : ''}
${
  c
    ? html`<p class="muted">${c.jobs} finished job(s) with stats${c.ungrouped.length ? `, ${c.ungrouped.length} without ${c.group_by}` : ''} · <a href="${api}">JSON</a></p>
<table class="groups"><tr><th>group</th><th>${c.group_by}</th><th>jobs</th></tr>${c.groups.map(
        (g, i) => html`<tr><td>[${i}]${i === 0 ? ' base' : ''}</td><td><code>${g.label}</code></td><td>${g.jobs.map((id, k) => [k ? ' ' : '', html`<a href="/ui/jobs/${id}">${id}</a>`])}</td></tr>`,
      )}</table>
${chosen ? html`<figure class="plot">${new Html(compareSvg(c, chosen.stat))}<figcaption class="muted">Each job's sample of ${chosen.stat} per group, the bar at the group's mean; pick another stat in the table.</figcaption></figure>` : html`<p class="muted">No stats.</p>`}
<table class="compare"><tr>${c.groups.map((_, i) => html`${i > 0 ? html`<th>%change</th>` : ''}<th>[${i}] mean</th><th>±stddev</th>`)}<th>stat</th></tr>
${c.stats.map(
  (s) => html`<tr>${s.groups.map(
    (g, i) =>
      html`${i > 0 ? html`<td class="change ${g.change?.significant ? 'bad' : 'muted'}">${pct(g.change?.change_pct, true)} ${g.change?.mark ?? ''}</td>` : ''}<td>${g.mean === null ? '-' : fmt(g.mean)}</td><td class="muted">${g.n === 0 ? '' : g.stddev_pct === null ? `n=${g.n}` : `± ${pct(g.stddev_pct)}`}</td>`,
  )}<td><a href="${link(s.stat)}">${s.stat}</a></td></tr>`,
)}</table>
<p class="muted">%change against [0]; ** p &lt; 0.01, * p &lt; 0.05 (Welch's t-test, two-sided); stddev is the sample standard deviation as a percentage of the mean.</p>`
    : html`<p class="muted">Group finished jobs by a field (ss.&lt;pkg&gt;.commit, testbox, a suite parameter such as demo-test.iterations) and compare their stats.</p>`
}`;
  return page('compare', body);
}
