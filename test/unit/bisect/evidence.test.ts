// Evidence people can read: history order with merged branches grouped
// after their merge, rows with counts and probabilities, the SVG (one mark
// per probed commit, the boundary, every text escaped) and the terminal
// table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { historyOrder } from '../../../src/bisect/history.ts';
import { evidenceRows } from '../../../src/bisect/evidence.ts';
import { plotSvg } from '../../../src/bisect/plot.ts';
import { evidenceTable, formatReport } from '../../../src/cli/bisect-report.ts';
import { dagOf, drive, linear, prng, regressionAt, sha } from './helpers.ts';

// m2 merges branch b1-b2 (which itself merged c1), m1 is on the main line
const lines = ['tip: m2', 'm2: m1 b2', 'b2: b1 c1', 'c1: g', 'b1: a', 'm1: a', 'a: g'];

test('history order: the first-parent chain from the bad end, each merged branch right after its merge, then the good end', () => {
  const dag = dagOf(lines, 'tip', ['g']);
  const order = historyOrder(dag);
  const names = ['tip', 'm2', 'b2', 'c1', 'b1', 'm1', 'a', 'g'];
  assert.deepEqual(order.map((e) => e.sha), names.map(sha));
  assert.deepEqual(order.map((e) => e.depth), [0, 0, 1, 2, 1, 0, 0, 0]);
  assert.equal(order[2]!.mergedBy, sha('m2'));
  assert.equal(order[0]!.end, 'bad');
  assert.equal(order.at(-1)!.end, 'good');
});

test('the result\'s evidence is in history order, not the order commits were tested in', () => {
  const dag = linear(40);
  const r = drive(dag, { criterion: 'function' }, regressionAt(dag, sha('c13')));
  const positions = r.result.evidence.map((e) => (e.end === 'good' ? -1 : Number(dag.commits.findIndex((c) => c.sha === e.sha))));
  const inHistory = positions.filter((p) => p >= 0);
  assert.deepEqual(inHistory, [...inHistory].sort((a, b) => a - b), 'newest first');
  // tested order was different (git's halving starts in the middle)
  assert.notEqual(r.rounds[0]![0]!.sha, r.result.evidence[0]!.sha);
});

test('rows: counts, P(bad), the boundary; perf rows have samples and a median, never good/bad runs', () => {
  const dag = dagOf(lines, 'tip', ['g']);
  const r = drive(dag, { criterion: 'function' }, regressionAt(dag, sha('b1')));
  assert.equal(r.result.first_bad, sha('b1'));
  const rows = evidenceRows(r.result, dag, new Map([[sha('b1'), 'the culprit']]));
  const culprit = rows.find((x) => x.sha === sha('b1'))!;
  assert.equal(culprit.boundary, 'first_bad');
  assert.equal(culprit.subject, 'the culprit');
  assert.equal(culprit.depth, 1);
  assert.ok(culprit.fails >= 1 && culprit.passes === 0);
  assert.ok(culprit.p_bad! > 0.99 && culprit.posterior! >= 0.95);
  assert.ok(rows.every((x) => x.says !== 'pending'));
  const perfDag = linear(20);
  const rand = prng(2);
  const bad = regressionAt(perfDag, sha('c9'));
  const perf = drive(perfDag, { criterion: 'perf', direction: 'lower' }, (s) => ({ outcome: 'good', value: (bad(s).outcome === 'bad' ? 110 : 100) + rand() }));
  const prow = evidenceRows(perf.result, perfDag).find((x) => x.sha === sha('c9'))!;
  assert.equal(prow.passes + prow.fails, 0);
  assert.ok(prow.samples!.length >= 2 && prow.median! > 109);
});

test('the SVG: one mark per probed commit, the boundary drawn, every text escaped', () => {
  const dag = dagOf(lines, 'tip', ['g']);
  const r = drive(dag, { criterion: 'function' }, regressionAt(dag, sha('b1')));
  const evil = '<script>alert("x")</script> & \'quotes\'';
  const svg = plotSvg(evidenceRows(r.result, dag, new Map(r.result.evidence.map((e) => [e.sha, evil]))), r.result);
  assert.equal((svg.match(/<g class="mark"/g) ?? []).length, r.result.evidence.length);
  assert.equal(r.result.evidence.length, r.result.probes);
  assert.match(svg, /<line class="boundary"/);
  assert.ok(!svg.includes('<script>'), 'no raw markup from a subject');
  assert.match(svg, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; &#39;quotes&#39;/);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*>[\s\S]*<\/svg>$/);
  // perf: each commit's samples are one mark, with its median
  const perfDag = linear(20);
  const rand = prng(4);
  const bad = regressionAt(perfDag, sha('c9'));
  const perf = drive(perfDag, { criterion: 'perf', direction: 'lower', metric: 'ms' }, (s) => ({ outcome: 'good', value: (bad(s).outcome === 'bad' ? 110 : 100) + rand() }));
  const psvg = plotSvg(evidenceRows(perf.result, perfDag), perf.result, { metric: 'ms' });
  assert.equal((psvg.match(/<g class="mark"/g) ?? []).length, perf.result.probes);
  assert.match(psvg, /ms per commit/);
});

test('terminal: one line per commit in history order, branches indented, a rule under the first bad commit', () => {
  const dag = dagOf(lines, 'tip', ['g']);
  const r = drive(dag, { criterion: 'function' }, regressionAt(dag, sha('b1')));
  const table = evidenceTable(evidenceRows(r.result, dag));
  const at = table.findIndex((l) => l.includes('← first bad'));
  assert.ok(at >= 0);
  assert.match(table[at + 1]!, /^ {2}─+ boundary ─+$/);
  assert.match(table[at]!, /^ {4}bad/, 'b1 sits on the merged branch');
  const text = formatReport(r.result, { criterion: 'function', confidence: 0.95 }, new Map(), { dag });
  assert.match(text, /^first bad commit: [0-9a-f]{40}\nparent: {11}[0-9a-f]{40}\nconfidence: {7}\d\.\d{3} \(asked for 0\.95\)\n/);
});
