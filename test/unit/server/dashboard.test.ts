// The dashboard's rendering: values are escaped wherever they land (text or
// attribute), a bisect's answer and evidence are shown, and pages refresh
// themselves only while something is still moving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bisectPage, esc, html, Html, overviewPage } from '../../../src/server/dashboard.ts';
import type { Bisect } from '../../../src/api/contract.ts';

const GOOD = 'a'.repeat(40);
const BAD = 'b'.repeat(40);
const CULPRIT = 'c'.repeat(40);

function bisect(over: Partial<Bisect> = {}): Bisect {
  return {
    id: 7, state: 'done', pkg: 'demo', criterion: 'perf', metric: 'demo-test.ops_per_sec', direction: 'higher',
    good: [GOOD], bad: BAD, upstream_url: 'https://example.org/demo.git', candidates: 30,
    progress: { rounds: 5, remaining: 1, judged: 6, samples: 24, owed: 0, log: 12 },
    jobs: [{ job_id: 41, sha: CULPRIT, round: 3, recorded: true }, { job_id: 44, sha: CULPRIT, round: 5, recorded: true }],
    result: {
      first_bad: CULPRIT, parent: GOOD, confidence: 0.97, reason: 'found', probes: 6, samples: 24, rounds: 5, skipped: [],
      evidence: [
        { sha: GOOD, verdict: 'good', end: 'good', outcomes: ['good', 'good'], samples: [101.234567, 99.5] },
        { sha: CULPRIT, verdict: 'bad', outcomes: ['bad', 'bad'], samples: [90.1, 89.7], p_values: { vs_good: 0.0012, vs_bad: 0.61 } },
      ],
      commits: { [CULPRIT]: { subject: 'speed up <fast path> & "tidy"', author: 'Dev <dev@example.org>', date: '2026-01-01' } },
    },
    error: null,
    request: {} as Bisect['request'],
    created_at: '2026-11-25T00:00:00.000Z', finished_at: '2026-11-25T00:05:00.000Z',
    ...over,
  };
}

test('esc and html: every value escaped, in text and in attributes; Html passes through', () => {
  assert.equal(esc(`<a href="x" onclick='y'>&</a>`), '&#60;a href=&#34;x&#34; onclick=&#39;y&#39;&#62;&#38;&#60;/a&#62;');
  const v = '"><script>1</script>';
  assert.equal(html`<a title="${v}">${v}</a>`.text, `<a title="${esc(v)}">${esc(v)}</a>`);
  assert.equal(html`<p>${[1, new Html('<b>2</b>'), null, false, undefined, '<3']}</p>`.text, '<p>1<b>2</b>&#60;3</p>');
});

test('a finished bisect shows the culprit with its subject, the confidence and every commit probed with its jobs', () => {
  const page = bisectPage(bisect());
  assert.match(page, new RegExp(`<dt>first bad</dt><dd><code>${CULPRIT}</code> <span>speed up &#60;fast path&#62; &#38; &#34;tidy&#34;</span>`));
  assert.ok(!page.includes('<fast path>'));
  assert.match(page, /<dt>confidence<\/dt><dd>0\.97<\/dd>/);
  assert.match(page, /<dt>probes \/ runs \/ rounds<\/dt><dd>6 \/ 24 \/ 5<\/dd>/);
  // The evidence table: both commits, their samples, p-values and the probe jobs.
  assert.match(page, /aaaaaaaaaaaa<\/code> <span class="muted">\(good end\)/);
  assert.match(page, /101\.2 99\.5/);
  assert.match(page, /0\.0012 \/ 0\.61/);
  assert.match(page, /<a href="\/ui\/jobs\/41">41<\/a> <a href="\/ui\/jobs\/44">44<\/a>/);
  assert.ok(!page.includes('http-equiv="refresh"'), 'a finished bisect does not refresh');
});

test('a running bisect lists its probes so far and refreshes', () => {
  const page = bisectPage(bisect({ state: 'running', result: null }));
  assert.match(page, /Probes so far/);
  assert.match(page, /<td><a href="\/ui\/jobs\/41">41<\/a><\/td><td><code>cccccccccccc<\/code><\/td><td>3<\/td><td>yes<\/td>/);
  assert.match(page, /http-equiv="refresh" content="5"/);
});

test('an empty lab says how to begin, and a quiet one does not refresh', () => {
  const page = overviewPage({ testboxes: [], jobs: [], builds: [], bisects: [], filter: {} });
  assert.match(page, /No testbox has registered\. Start one with: stacklab testbox/);
  assert.match(page, /No job yet\. Submit one with: stacklab submit FILE/);
  assert.ok(!page.includes('http-equiv="refresh"'));
  const filtered = overviewPage({ testboxes: [], jobs: [], builds: [], bisects: [bisect({ state: 'running', result: null })], filter: { suite: '<x>' } });
  assert.match(filtered, /\(suite=&#60;x&#62; · <a href="\/">all<\/a>\)/);
  assert.match(filtered, /No job matches\./);
  assert.match(filtered, /http-equiv="refresh"/, 'a running bisect is something to watch');
});
