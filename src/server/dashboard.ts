// The web dashboard (SPEC §9 `GET /`): plain HTML rendered on the server
// from the same views the API returns — no script, no build step, nothing
// a browser must run. Pages refresh themselves while there is something to
// watch. Every string from a job, a lab or git is escaped here, in `esc`,
// and nowhere else builds markup from data — except the bisect plot, an SVG
// that bisect/plot.ts draws and escapes itself (commit subjects included),
// passed through as Html.
import type { Job, TimelineEntry } from '../api/contract.ts';
import type { Build } from '../api/contract.ts';
import type { Testbox } from '../api/contract.ts';
import type { Bisect, BisectProbe } from '../api/contract.ts';
import { evidenceRows, type EvidenceRow } from '../bisect/evidence.ts';
import { plotSvg } from '../bisect/plot.ts';
import { bisectByErrorCommand, DMESG } from '../model/dmesg.ts';
import { likelyNote } from '../bisect/bayes/status.ts';

/** Markup that is already safe; anything else given to `html` is escaped. */
export class Html {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  toString(): string {
    return this.text;
  }
}

export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

type Part = Html | string | number | null | undefined | boolean | Part[];

function flat(p: Part): string {
  if (p instanceof Html) return p.text;
  if (Array.isArray(p)) return p.map(flat).join('');
  if (p === null || p === undefined || p === false) return '';
  return esc(p);
}

/** A tagged template: the literal parts are markup, every value is escaped (or joined, for lists and Html). */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => (out += flat(v) + strings[i + 1]!));
  return new Html(out);
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.4em 0 .4em}
table{border-collapse:collapse;margin:.3em 0}td,th{padding:.15em .6em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
td:first-child{white-space:nowrap}th{background:#f4f4f4}code,.mono{font-family:ui-monospace,monospace;font-size:.95em}
.success,.succeeded,.idle,.good,.done{color:#17702a}.failed,.dependency_failed,.bad,.lost,.disabled,.unrunnable,.no_testbox{color:#b3261e}
.timeout,.abnormal,.skip,.infra,.unhealthy{color:#a65c00}.cancel,.cancelled,.pending{color:#777}
figure.plot{margin:.5em 0}figure.plot svg{max-width:100%;height:auto}.message{max-width:60em}
nav a{margin-right:1em}.muted{color:#777}dl{display:grid;grid-template-columns:max-content auto;gap:.1em 1em}dt{color:#555}dd{margin:0}
`;

export function page(title: string, body: Html, refreshSeconds = 0): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
${refreshSeconds > 0 ? new Html(`<meta http-equiv="refresh" content="${refreshSeconds}">`) : ''}
<title>${title} · stacklab</title><style>${new Html(STYLE)}</style></head>
<body><nav><a href="/"><b>stacklab</b></a><a href="/?stage=submit">queued</a><a href="/?health=not_success">failed</a><a href="/ui/compare">compare</a><a href="/docs">API</a><a href="/metrics">metrics</a></nav>
${body}
</body></html>
`.text;
}

const short = (sha: string | null | undefined) => (sha ? sha.slice(0, 12) : '');
const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');

function state(s: string | null | undefined): Html {
  return html`<span class="${s ?? ''}">${s ?? ''}</span>`;
}

function jobLink(id: number | null | undefined): Html | string {
  return id == null ? '' : html`<a href="/ui/jobs/${id}">${id}</a>`;
}

function table(headers: string[], rows: Part[][], empty: string): Html {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<table><tr>${headers.map((h) => html`<th>${h}</th>`)}</tr>${rows.map((r) => html`<tr>${r.map((c) => html`<td>${c}</td>`)}</tr>`)}</table>`;
}

export interface Overview {
  testboxes: Testbox[];
  jobs: Job[];
  builds: Build[];
  bisects: Bisect[];
  /** The jobs list's filters as asked (GET /api/jobs's names). */
  filter: Record<string, string | undefined>;
  /** The id to page back from (the next older page), when there is one. */
  older?: number | undefined;
  /** This page starts below an id (not the newest). */
  paged?: boolean;
}

const HEALTH_CHOICES: [string, string][] = [['', 'any health'], ['not_success', 'all non-success'], ['success', 'success'], ['failed', 'failed'], ['timeout', 'timeout'], ['dependency_failed', 'dependency_failed'], ['abnormal', 'abnormal'], ['unrunnable', 'unrunnable'], ['cancel', 'cancel']];
const STAGE_CHOICES = ['', 'submit', 'boot', 'running', 'post_run', 'finish'];

/** The jobs list's controls: a GET form whose names are GET /api/jobs's query. */
function jobFilters(f: Record<string, string | undefined>): Html {
  const select = (name: string, choices: [string, string][]) =>
    html`<select name="${name}">${choices.map(([v, label]) => html`<option value="${v}"${f[name] === v || (!f[name] && v === '') ? new Html(' selected') : ''}>${label}</option>`)}</select> `;
  const input = (name: string, hint: string, size = 12) => html`<input name="${name}" value="${f[name] ?? ''}" placeholder="${hint}" size="${size}"> `;
  return html`<form method="get" action="/" class="filters">${select('stage', STAGE_CHOICES.map((s) => [s, s || 'any stage']))}${select('health', HEALTH_CHOICES)}${input('suite', 'suite')}${input('account', 'account', 10)}${input('pkg', 'ss package', 10)}${input('commit', 'commit sha', 12)}${input('bisect', 'bisect id or none', 14)}<button type="submit">filter</button></form>`;
}

function pageLinks(o: Overview): Html {
  const q = (extra: Record<string, string>) => new URLSearchParams({ ...Object.fromEntries(Object.entries(o.filter).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')), ...extra }).toString();
  const parts: Html[] = [];
  if (o.paged) parts.push(html`<a class="newest" href="/?${q({})}">← newest</a>`);
  if (o.older !== undefined) parts.push(html`<a class="older" href="/?${q({ before: String(o.older) })}">older →</a>`);
  return parts.length ? html`<p class="paging">${parts.map((p, i) => [i ? ' · ' : '', p])}</p>` : html``;
}

/** The front page: testboxes, the newest jobs (filtered like GET /api/jobs), builds, bisects. */
export function overviewPage(o: Overview): string {
  const f = Object.entries(o.filter).filter(([, v]) => v);
  const busy = o.jobs.some((j) => j.job_stage !== 'finish') || o.bisects.some((b) => b.state === 'running');
  const body = html`<h1>stacklab</h1>
<h2>Testboxes</h2>
${table(
  ['hostname', 'type', 'arch', 'memory', 'cpus', 'state', 'jobs', 'last heartbeat', 'build settings'],
  o.testboxes.map((b) => [
    b.hostname,
    b.type,
    b.arch,
    `${b.max_memory} GiB`,
    b.cpus,
    b.disabled_reason ? html`${state(b.state)} <span class="muted">${b.disabled_reason}; stacklab testbox enable ${b.hostname}, or a passing stacklab testbox health-check ${b.hostname} JOBFILE</span>` : state(b.state),
    b.jobs.map((id, i) => [i ? ' ' : '', jobLink(id)]),
    when(b.last_heartbeat),
    Object.entries(b.build_env).map(([k, v], i) => html`${i ? ' ' : ''}<code>${k}=${v}</code>`),
  ]),
  'No testbox has registered. Start one with: stacklab testbox',
)}
<h2>Bisects</h2>
${table(
  ['id', 'package', 'criterion', 'state', 'good … bad', 'rounds', 'first bad commit'],
  o.bisects.map((b) => [
    html`<a href="/ui/bisects/${b.id}">${b.id}</a>`,
    b.pkg,
    b.criterion === 'perf' ? `perf ${b.metric ?? ''} (${b.direction ?? ''} is better)` : b.criterion,
    state(b.state),
    html`<code>${b.good.map(short).join(' ')}</code> … <code>${short(b.bad)}</code>`,
    b.result?.rounds ?? b.progress.rounds,
    b.result ? (b.result.first_bad ? html`<code>${short(b.result.first_bad)}</code> ${b.result.commits[b.result.first_bad]?.subject ?? ''}` : html`<span class="muted">${b.result.reason}</span>`) : '',
  ]),
  'No bisect yet: stacklab bisect start FILE --pkg P --good G --bad B',
)}
<h2>Jobs${f.length ? html` <span class="muted">(${f.map(([k, v]) => `${k}=${v}`).join(', ')} · <a href="/">all</a>)</span>` : ''}</h2>
${jobFilters(o.filter)}
${table(
  ['id', 'suite', 'stage', 'health', 'testbox', 'ss', 'submitted', 'finished', 'result'],
  o.jobs.map((j) => [
    jobLink(j.id),
    html`<a href="/?suite=${encodeURIComponent(j.suite)}">${j.suite}</a>`,
    j.waiting
      ? html`${state(j.job_stage)} <span class="muted">waiting on ${j.deps.filter((d) => d.wait === 'waiting').length} build(s)</span>`
      : j.wait_reason && j.wait_reason.kind !== 'busy'
        ? html`${state(j.job_stage)} <span class="muted">${j.wait_reason.kind.replace('_', ' ')}</span>`
        : state(j.job_stage),
    state(j.job_health),
    j.testbox_host ?? j.testbox,
    j.deps.map((d, i) => [i ? ', ' : '', html`<a href="/?${new URLSearchParams({ pkg: d.pkg, commit: d.commit }).toString()}">${d.pkg}@<code>${short(d.commit)}</code></a>`]),
    when(j.submit_time),
    when(j.finish_time),
    j.job_stage === 'finish' || j.job_stage === 'post_run' ? html`<a href="${j.result_root}/">files</a>` : '',
  ]),
  f.length ? 'No job matches.' : 'No job yet. Submit one with: stacklab submit FILE',
)}
${pageLinks(o)}
<h2>Builds</h2>
${table(
  ['key', 'package', 'commit', 'config', 'state', 'attempts', 'pkgbuild job', 'created'],
  o.builds.map((b) => [
    html`<a href="/ui/builds/${b.key}"><code>${b.key.slice(0, 12)}</code></a>`,
    b.fork === b.pkg ? b.pkg : `${b.pkg}/${b.fork}`,
    html`<code>${short(b.commit)}</code> ${b.commit_ref !== b.commit ? html`<span class="muted">${b.commit_ref}</span>` : ''}`,
    b.config ?? html`<span class="muted">default</span>`,
    state(b.state),
    b.attempts,
    jobLink(b.pkgbuild_job),
    when(b.created_at),
  ]),
  'No build yet: jobs with ss make them.',
)}`;
  return page('stacklab', body, busy ? 5 : 0);
}

function timelineTable(entries: TimelineEntry[]): Html {
  return table(
    ['time', 'event', 'details'],
    entries.map((e) => {
      const { time, event, ...rest } = e;
      return [when(time), state(event), html`<span class="mono">${Object.entries(rest).map(([k, v], i) => [i ? ' ' : '', `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`])}</span>`];
    }),
    'No event.',
  );
}

/** The job's kernel errors (its dmesg.* stats), each with the command that bisects it when the job has a package to bisect. */
function kernelErrors(j: Job): Html | string {
  const errors = Object.keys(j.stats ?? {}).filter((k) => k.startsWith(DMESG));
  if (errors.length === 0) return '';
  return html`<h2>Kernel errors</h2>
${j.deps.length && j.boot_time ? html`<p>To find the commit that brought one, save its <a href="${j.result_root}/job.yaml">job.yaml</a> as <code>job-${j.id}.yaml</code> and bisect by it.</p>` : ''}
${table(
  ['error (dmesg stat)', ...(j.deps.length && j.boot_time ? ['bisect it'] : [])],
  errors.map((id) => [html`<code class="kernel-error">${id}</code>`, ...(j.deps.length && j.boot_time ? [html`<code>${bisectByErrorCommand(j, id) ?? ''}</code>`] : [])]),
  '',
)}`;
}

/** One job: its fields, what it waits on or why its dependency failed, stats, timeline, files. */
export function jobPage(j: Job): string {
  const stats = Object.entries(j.stats ?? {});
  const labels = Object.entries((j.labels as Record<string, unknown> | undefined) ?? {});
  const depFailure = j.dep_failure as { pkg?: string; build_key?: string; pkgbuild_job?: number; health?: string; log?: string } | null;
  const body = html`<h1>Job ${j.id} <span class="muted">${j.suite}</span></h1>
<dl>
<dt>stage</dt><dd>${state(j.job_stage)}${j.waiting ? ' (waiting on builds)' : ''}</dd>
${j.wait_reason ? html`<dt>waiting</dt><dd class="wait-reason">${state(j.wait_reason.kind)} ${j.wait_reason.message}</dd>` : ''}
<dt>health</dt><dd>${state(j.job_health)}</dd>
<dt>testbox</dt><dd>${j.testbox}${j.testbox_host ? ` → ${j.testbox_host}` : ''}</dd>
<dt>account</dt><dd>${String(j.my_account ?? '')}</dd>
<dt>submitted</dt><dd>${when(j.submit_time)}</dd>
<dt>finished</dt><dd>${when(j.finish_time)}</dd>
<dt>result root</dt><dd><a href="${j.result_root}/"><code>${j.result_root}</code></a> · <a href="${j.result_root}/output">output</a>${j.boot_time ? html` · <a href="${j.result_root}/job.yaml" title="stacklab submit job.yaml reruns it; stacklab bisect start job.yaml --good G bisects it">job.yaml</a>` : ''} · <a href="/api/jobs/${j.id}">JSON</a></dd>
${labels.map(([k, v]) => html`<dt>label ${k}</dt><dd>${String(v)}</dd>`)}
</dl>
${
  depFailure
    ? html`<h2>Dependency failed</h2><p class="failed">The build of ${depFailure.pkg ?? ''} (${depFailure.build_key ? html`<a href="/ui/builds/${depFailure.build_key}"><code>${short(depFailure.build_key)}</code></a>` : ''}) ended ${depFailure.health ?? ''} in pkgbuild job ${jobLink(depFailure.pkgbuild_job)}${depFailure.log ? html` — <a href="${depFailure.log}">build log</a>` : ''}.</p>`
    : ''
}
<h2>Software stack</h2>
${table(
  ['package', 'commit', 'ref', 'config', 'wait', 'build', 'pkgbuild job'],
  j.deps.map((d) => [d.pkg, html`<code>${short(d.commit)}</code>`, d.commit_ref, d.config ?? 'default', state(d.wait), html`<a href="/ui/builds/${d.build_key}">${state(d.build_state)}</a>`, jobLink(d.pkgbuild_job)]),
  'No ss packages.',
)}
${j.deps.length ? html`<p>Compare with its siblings: ${j.deps.map((d, i) => [i ? ' · ' : '', html`<a class="compare-link" href="/ui/compare?${new URLSearchParams({ group_by: `ss.${d.pkg}.commit`, suite: j.suite, pkg: d.pkg }).toString()}">${j.suite} jobs by ${d.pkg} commit</a>`])}</p>` : ''}
${kernelErrors(j)}
<h2>Stats</h2>
${table(
  ['stat', 'value', ...(j.deps[0] ? [`across ${j.deps[0].pkg} commits`] : [])],
  stats.map(([k, v]) => [k, v, ...(j.deps[0] ? [html`<a class="stat-history" href="/ui/compare?${new URLSearchParams({ group_by: `ss.${j.deps[0].pkg}.commit`, suite: j.suite, pkg: j.deps[0].pkg, plot: k }).toString()}">plot</a>`] : [])]),
  j.job_stage === 'finish' ? 'No stats.' : 'Not yet.',
)}
<h2>Timeline</h2>
${timelineTable(j.timeline ?? [])}`;
  return page(`job ${j.id}`, body, j.job_stage === 'finish' ? 0 : 3);
}

const PROBE_WORDS: Record<NonNullable<BisectProbe['outcome']>, string> = { good: 'passed', bad: 'failed', skip: 'untestable', infra: 'infra (not counted)' };

/** How a probe job's run reads: passed, FAILED, a sample, untestable, or the lab's failure. */
function probeSaid(j: BisectProbe): Html | string {
  if (!j.recorded) return html`<span class="muted">${j.stage}</span>`;
  if (j.value !== undefined) return `sample ${Number(j.value.toPrecision(6))}`;
  const word = j.outcome ? PROBE_WORDS[j.outcome] : 'recorded';
  return html`<span class="${j.outcome ?? ''}">${word}</span>`;
}

/** A row's runs in words: failures of runs (pass/fail), or samples and their median (perf); untestable and lab failures said apart. */
function runsSaid(row: EvidenceRow): string {
  const extra = [row.skips ? `${row.skips} untestable` : '', row.infra ? `${row.infra} infra` : ''].filter((x) => x !== '').join(', ');
  const main = row.samples !== undefined ? `${row.samples.length} sample${row.samples.length === 1 ? '' : 's'}${row.median !== undefined ? `, median ${Number(row.median.toPrecision(6))}` : ''}` : `${row.fails} of ${row.fails + row.passes} failed`;
  return extra ? `${main} (${extra})` : main;
}

const prob = (p: number): string => (p < 0.001 && p > 0 ? p.toExponential(1) : p.toFixed(3));

/** One bisect: request, progress, the answer, the evidence drawn and listed in history order, and every probe job. */
export function bisectPage(b: Bisect): string {
  const r = b.result;
  const commit = (sha: string | null | undefined) => (sha ? html`<code>${sha}</code> ${r?.commits[sha] ? html`<span>${r.commits[sha].subject}</span> <span class="muted">${r.commits[sha].author}</span>` : ''}` : '');
  const probes = new Map<string, BisectProbe[]>();
  for (const j of b.jobs) probes.set(j.sha, [...(probes.get(j.sha) ?? []), j]);
  const subjects = new Map(Object.entries(r?.commits ?? {}).map(([sha, c]) => [sha, c.subject] as const));
  const rows = r ? evidenceRows(r, undefined, subjects) : [];
  const asked = b.request.confidence ?? 0.95;
  const best = b.progress.best;
  const body = html`<h1>Bisect ${b.id} <span class="muted">${b.pkg}, ${b.criterion}</span></h1>
<dl>
<dt>state</dt><dd>${state(b.state)}${b.error ? html` <span class="failed">${b.error}</span>` : ''}</dd>
<dt>good</dt><dd>${b.good.map((g, i) => [i ? ', ' : '', html`<code>${g}</code>`])}</dd>
<dt>bad</dt><dd><code>${b.bad}</code></dd>
<dt>upstream</dt><dd><code>${b.upstream_url}</code></dd>
${b.criterion === 'perf' ? html`<dt>metric</dt><dd>${b.metric ?? ''} (${b.direction ?? ''} is better)</dd>` : ''}
<dt>progress</dt><dd>${b.candidates} candidates, ${b.progress.remaining} left, ${b.progress.rounds} rounds, ${b.progress.samples} runs${!r && best && best.p >= 0.1 ? html` · most likely <code>${short(best.sha)}</code> (${likelyNote(best.p, asked)})` : ''}</dd>
<dt>JSON</dt><dd><a href="/api/bisects/${b.id}">/api/bisects/${b.id}</a></dd>
<dt>compare</dt><dd><a class="compare-link" href="/ui/compare?${new URLSearchParams({ group_by: `ss.${b.pkg}.commit`, bisect: String(b.id), ...(b.metric ? { plot: b.metric } : {}) }).toString()}">its probes' stats by commit</a></dd>
</dl>
${
  r
    ? html`<h2>Result</h2><dl>
<dt>first bad</dt><dd>${r.first_bad ? commit(r.first_bad) : html`<span class="muted">none (${r.reason})</span>`}</dd>
<dt>parent</dt><dd>${commit(r.parent)}</dd>
<dt>confidence</dt><dd>${r.confidence.toFixed(3)}${r.stop ? html` <span class="muted">(asked for ${asked}${r.stop === 'budget' ? html`; <span class="failed">the run budget ran out first: a best guess</span>` : ''})</span>` : ''}</dd>
${r.message ? html`<dt>what it means</dt><dd class="message">${r.message}</dd>` : ''}
<dt>probes / runs / rounds</dt><dd>${r.probes} / ${r.samples} / ${r.rounds}</dd>
${r.skipped.length ? html`<dt>skipped</dt><dd>${r.skipped.map((s, i) => [i ? ' ' : '', html`<code>${short(s)}</code>`])}</dd>` : ''}
${r.candidates?.length ? html`<dt>may be the first bad</dt><dd>${r.candidates.map((s, i) => [i ? ' ' : '', html`<code>${short(s)}</code>`])}</dd>` : ''}
</dl>
<h2>Evidence</h2>
<figure class="plot">${rows.length > 0 ? new Html(plotSvg(rows, r, b.metric ? { metric: b.metric } : {})) : ''}<figcaption class="muted">${b.criterion === 'perf' ? 'Each commit\'s samples and median' : 'Each commit\'s failure rate (the dot grows with its runs)'}, oldest on the left; the dashed line is the boundary.</figcaption></figure>
${table(
  ['commit', 'subject', 'verdict', 'runs', b.criterion === 'perf' ? 'p (worse than good / better than bad)' : 'P(bad) / P(first bad)', 'jobs'],
  rows.map((row) => [
    html`<code class="depth-${Math.min(row.depth, 9)}">${'· '.repeat(row.depth)}${short(row.sha)}</code>${row.end ? html` <span class="muted">(${row.end} end)</span>` : ''}${row.boundary === 'first_bad' ? html` <b class="bad">← first bad</b>` : row.candidate ? html` <span class="pending">← may be the first bad</span>` : ''}`,
    row.subject ?? '',
    html`<span class="${row.verdict}">${row.says}</span>`,
    // perf runs are samples, not passes: no ✓ for a bad commit's samples
    row.samples !== undefined ? runsSaid(row) : html`<span class="mono">${row.outcomes.map((o) => ({ bad: '✗', good: '✓', skip: '·', infra: '!' })[o]).join('')}</span> ${runsSaid(row)}`,
    row.p_values ? `${prob(row.p_values.vs_good)} / ${prob(row.p_values.vs_bad)}` : row.p_bad !== undefined ? `${prob(row.p_bad)} / ${prob(row.posterior ?? 0)}` : '',
    (probes.get(row.sha) ?? []).map((j, i) => [i ? ' ' : '', jobLink(j.job_id)]),
  ]),
  'No commit probed.',
)}
<p class="muted">History order: newest first along the bad end's first parents, each merged branch (indented) after its merge. ✓ passed, ✗ failed, · untestable, ! the lab failed (run again, never counted).</p>
<h2>Probe jobs</h2>`
    : html`<h2>Probes so far</h2>`
}
${table(
  ['job', 'commit', 'round', 'testbox', 'run'],
  b.jobs.map((j) => [jobLink(j.job_id), html`<code>${short(j.sha)}</code>`, j.round, j.testbox ?? '', probeSaid(j)]),
  'None yet.',
)}`;
  return page(`bisect ${b.id}`, body, b.state === 'running' ? 5 : 0);
}
