// The dashboard's build page (/ui/builds/:key) and the HTML listing of a
// result or artifact directory: what GET /api/builds/:key and a directory
// of /result/ answer, for people. Markup only through dashboard.ts's `html`.
import type { Build, Job } from '../api/contract.ts';
import { html, page } from './dashboard.ts';

const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '');
const state = (s: string | null | undefined) => html`<span class="${s ?? ''}">${s ?? ''}</span>`;
const jobLink = (id: number | null | undefined) => (id == null ? '' : html`<a href="/ui/jobs/${id}">${id}</a>`);

/** One build: its inputs (params included), state and attempts, why it failed, its files, its pkgbuild jobs and the jobs that wait or waited on it. */
export function buildPage(b: Build, pkgbuild: Job | undefined): string {
  const waiting = (b.jobs ?? []).filter((j) => j.wait === 'waiting');
  const log = b.error?.log ?? (pkgbuild ? `${pkgbuild.result_root}/build.log` : null);
  const params = Object.entries(b.params);
  const body = html`<h1>Build <code>${b.key.slice(0, 12)}</code> <span class="muted">${b.pkg}</span></h1>
<dl>
<dt>key</dt><dd><code>${b.key}</code></dd>
<dt>state</dt><dd>${state(b.state)} (attempt ${b.attempts})</dd>
<dt>package</dt><dd>${b.pkg}${b.fork !== b.pkg ? ` (fork ${b.fork})` : ''}</dd>
<dt>upstream</dt><dd><code>${b.upstream_url}</code></dd>
<dt>commit</dt><dd><code>${b.commit}</code>${b.commit_ref !== b.commit ? html` <span class="muted">(${b.commit_ref})</span>` : ''}</dd>
<dt>config</dt><dd>${b.config ?? html`<span class="muted">default</span>`}</dd>
<dt>params</dt><dd>${params.length ? params.map(([k, v], i) => [i ? ' ' : '', html`<code>${k}=${v}</code>`]) : html`<span class="muted">none</span>`}</dd>
<dt>os</dt><dd>${b.os} ${b.os_version} ${b.os_arch}</dd>
<dt>built on</dt><dd>${b.testbox}</dd>
<dt>created</dt><dd>${when(b.created_at)}</dd>
<dt>started</dt><dd>${when(b.started_at)}</dd>
<dt>finished</dt><dd>${when(b.finished_at)}</dd>
<dt>pkgbuild job</dt><dd>${jobLink(b.pkgbuild_job)}${pkgbuild ? html` · <a href="${pkgbuild.result_root}/">files</a>` : ''}${log ? html` · <a class="build-log" href="${log}">build log</a>` : ''}</dd>
<dt>JSON</dt><dd><a href="/api/builds/${b.key}">/api/builds/${b.key}</a></dd>
</dl>
${b.error ? html`<h2>Failure</h2><p class="failed">${b.error.health}${b.error.error ? `: ${b.error.error}` : ''}${b.error.cached ? ' (remembered from an earlier build)' : ''}</p>` : ''}
<h2>Files</h2>
${b.files.length ? html`<table><tr><th>name</th><th>size</th><th>sha256</th></tr>${b.files.map((f) => html`<tr><td><a href="${f.url}">${f.name}</a></td><td>${f.size}</td><td><code>${f.sha256}</code></td></tr>`)}</table>` : html`<p class="muted">None yet.</p>`}
<h2>Attempts</h2>
${(b.pkgbuild_jobs ?? []).length ? html`<table class="attempts"><tr><th>pkgbuild job</th><th>stage</th><th>health</th></tr>${(b.pkgbuild_jobs ?? []).map((j) => html`<tr><td>${jobLink(j.id)}</td><td>${state(j.stage)}</td><td>${state(j.health)}</td></tr>`)}</table>` : html`<p class="muted">None yet.</p>`}
<h2>Jobs on it <span class="muted">(${waiting.length} waiting)</span></h2>
${(b.jobs ?? []).length ? html`<table class="dependents"><tr><th>job</th><th>wait</th></tr>${(b.jobs ?? []).map((j) => html`<tr><td>${jobLink(j.job_id)}</td><td>${state(j.wait)}</td></tr>`)}</table>` : html`<p class="muted">No job depends on it.</p>`}`;
  return page(`build ${b.key.slice(0, 12)}`, body, b.state === 'queued' || b.state === 'building' ? 5 : 0);
}

/** A directory below /result/ (or /initrd/, /kernel/) as links; `path` is its URL path. */
export function dirPage(path: string, entries: string[]): string {
  const base = path.replace(/\/+$/, '');
  const parent = base.includes('/') ? base.slice(0, base.lastIndexOf('/')) : '';
  const body = html`<h1>Index of <code>${base}/</code></h1>
<ul class="listing">
${parent !== '' ? html`<li><a href="${parent}/">../</a></li>` : ''}
${entries.map((e) => html`<li><a href="${base}/${e.endsWith('/') ? `${encodeURIComponent(e.slice(0, -1))}/` : encodeURIComponent(e)}">${e}</a></li>`)}
</ul>
${entries.length === 0 ? html`<p class="muted">Empty.</p>` : ''}`;
  return page(base, body);
}
