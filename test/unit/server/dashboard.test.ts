// The dashboard's rendering: values are escaped wherever they land (text or
// attribute, the bisect plot's SVG included), a bisect's answer and evidence
// are shown in history order and drawn, and pages refresh themselves only
// while something is still moving.
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
    jobs: [
      { job_id: 41, sha: CULPRIT, round: 3, recorded: true, stage: 'finish', testbox: 'box-1', outcome: 'good', value: 90.1 },
      { job_id: 44, sha: CULPRIT, round: 5, recorded: true, stage: 'finish', testbox: 'box-2', outcome: 'good', value: 89.7 },
    ],
    result: {
      first_bad: CULPRIT, parent: GOOD, confidence: 0.97, reason: 'found', probes: 6, samples: 24, rounds: 5, skipped: [],
      message: 'cccccccccccc is the first commit measurably worse than the good end in demo-test.ops_per_sec, its parent not (confidence 0.970).',
      evidence: [
        { sha: CULPRIT, verdict: 'bad', outcomes: ['good', 'good'], samples: [90.1, 89.7], p_values: { vs_good: 0.0012, vs_bad: 0.61 } },
        { sha: GOOD, verdict: 'good', end: 'good', outcomes: ['good', 'good'], samples: [101.234567, 99.5] },
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

test('a finished bisect shows the culprit with its subject, the confidence, the plot and every commit probed with its jobs', () => {
  const page = bisectPage(bisect());
  assert.match(page, new RegExp(`<dt>first bad</dt><dd><code>${CULPRIT}</code> <span>speed up &#60;fast path&#62; &#38; &#34;tidy&#34;</span>`));
  assert.ok(!page.includes('<fast path>'));
  assert.match(page, /<dt>confidence<\/dt><dd>0\.970<\/dd>/);
  assert.match(page, /<dt>what it means<\/dt><dd class="message">cccccccccccc is the first commit measurably worse/);
  assert.match(page, /<dt>probes \/ runs \/ rounds<\/dt><dd>6 \/ 24 \/ 5<\/dd>/);
  // The plot: an SVG with one mark per commit probed, the boundary drawn.
  const svg = page.slice(page.indexOf('<svg'), page.indexOf('</svg>'));
  assert.equal((svg.match(/<g class="mark" data-sha="/g) ?? []).length, 2);
  assert.match(svg, /<line class="boundary"/);
  // The evidence table, newest first: the culprit with its subject, samples with median and p-values, its jobs; then the good end.
  assert.match(page, /cccccccccccc<\/code> <b class="bad">← first bad<\/b><\/td><td>speed up &#60;fast path&#62; &#38; &#34;tidy&#34;<\/td><td><span class="bad">bad<\/span><\/td><td>2 samples, median 89\.9<\/td><td>0\.001 \/ 0\.610<\/td><td><a href="\/ui\/jobs\/41">41<\/a> <a href="\/ui\/jobs\/44">44<\/a><\/td>/);
  assert.ok(page.indexOf('cccccccccccc</code> <b') < page.indexOf('aaaaaaaaaaaa</code> <span class="muted">(good end)'), 'history order: the culprit above the good end');
  assert.match(page, /2 samples, median 100\.367/);
  // Every probe job with its testbox and what it said.
  assert.match(page, /<td><a href="\/ui\/jobs\/44">44<\/a><\/td><td><code>cccccccccccc<\/code><\/td><td>5<\/td><td>box-2<\/td><td>sample 89\.7<\/td>/);
  assert.ok(!page.includes('http-equiv="refresh"'), 'a finished bisect does not refresh');
});

test('a hostile commit subject stays inert: in the table, in the result and in the plot\'s tooltips', () => {
  const evil = `"><script>alert(1)</script><img src=x onerror=alert(2)><svg onload=alert(3)>&amp;`;
  const b = bisect();
  b.result!.commits[CULPRIT]!.subject = evil;
  b.result!.commits[GOOD] = { subject: `</title></svg><script>alert(4)</script>`, author: '<b>x</b>', date: '' };
  const page = bisectPage(b);
  assert.ok(!/<script/i.test(page), 'no script element');
  assert.ok(!/<img/i.test(page), 'no img element');
  assert.ok(!/<[^>]*\son(error|load)=/i.test(page), 'no element carries an event handler');
  assert.equal((page.match(/<svg/g) ?? []).length, 1, 'exactly the one plot');
  assert.equal((page.match(/<\/svg>/g) ?? []).length, 1);
  assert.ok(page.includes('&lt;script&gt;alert(4)&lt;/script&gt;') || page.includes('&#60;script&#62;alert(4)'), 'the subject is shown, as text');
});

test('a function bisect that stopped at its budget says so, with P(bad) per commit and the counts of its runs', () => {
  const PARENT = 'd'.repeat(40);
  const b = bisect({
    criterion: 'function', metric: null, direction: null,
    request: { confidence: 0.99 } as Bisect['request'],
    jobs: [{ job_id: 50, sha: PARENT, round: 2, recorded: true, stage: 'finish', testbox: 'box-3', outcome: 'infra' }],
    result: {
      first_bad: CULPRIT, parent: PARENT, confidence: 0.81, reason: 'found', stop: 'budget', probes: 3, samples: 9, rounds: 6, skipped: [],
      message: 'no commit reached 0.99 within 9 runs; the most likely first bad commit is cccccccccccc (0.810).',
      evidence: [
        { sha: BAD, verdict: 'bad', end: 'bad', outcomes: ['bad', 'good', 'bad'], p_bad: 1, posterior: 0.05 },
        { sha: CULPRIT, verdict: 'pending', outcomes: ['bad', 'good', 'good'], p_bad: 0.93, posterior: 0.81 },
        { sha: PARENT, verdict: 'pending', outcomes: ['good', 'good', 'infra'], p_bad: 0.12, posterior: 0.1, depth: 1 },
      ],
      commits: {},
    },
  });
  const page = bisectPage(b);
  assert.match(page, /<dt>confidence<\/dt><dd>0\.810 <span class="muted">\(asked for 0\.99; <span class="failed">the run budget ran out first: a best guess<\/span>\)<\/span><\/dd>/);
  assert.match(page, /<span class="mono">✗✓✗<\/span> 2 of 3 failed<\/td><td>1\.000 \/ 0\.050<\/td>/);
  assert.match(page, /<span class="pending">unsure<\/span><\/td><td><span class="mono">✗✓✓<\/span> 1 of 3 failed<\/td><td>0\.930 \/ 0\.810<\/td>/);
  // a merged branch's commit indented; the lab's failure shown, not counted
  assert.match(page, /<code class="depth-1">· dddddddddddd<\/code>/);
  assert.match(page, /✓✓!<\/span> 0 of 2 failed \(1 infra\)/);
  assert.match(page, /<td>box-3<\/td><td><span class="infra">infra \(not counted\)<\/span><\/td>/);
  assert.equal((page.match(/<g class="mark"/g) ?? []).length, 3);
});

test('a running bisect lists its probes so far with their testbox and verdict, its best guess, and refreshes', () => {
  const page = bisectPage(bisect({ state: 'running', result: null, progress: { rounds: 5, remaining: 3, judged: 6, samples: 24, owed: 2, log: 12, best: { sha: CULPRIT, p: 0.42 } } }));
  assert.match(page, /Probes so far/);
  assert.match(page, /most likely <code>cccccccccccc<\/code> \(0\.42, stops at 0\.95\)/);
  assert.match(page, /<td><a href="\/ui\/jobs\/41">41<\/a><\/td><td><code>cccccccccccc<\/code><\/td><td>3<\/td><td>box-1<\/td><td>sample 90\.1<\/td>/);
  assert.ok(!page.includes('<svg'), 'nothing to draw before the result');
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
