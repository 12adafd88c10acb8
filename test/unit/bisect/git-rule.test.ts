// git's choice of the next commit on hand-made graphs: the halfway rule,
// its walk order (oldest first, merges counted first) and its tie-breaks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gitChoice, skipAwayIndex } from '../../../src/bisect/git-rule.ts';
import { graphOf } from '../../../src/bisect/graph.ts';
import { bits, setBit } from '../../../src/bisect/bitset.ts';
import { parseRevList } from '../../../src/bisect/dag.ts';
import { dagOf, linear, sha } from './helpers.ts';
import type { Dag } from '../../../src/bisect/types.ts';

function pick(dag: Dag, skipped: string[] = []): string | null {
  const g = graphOf(dag);
  const all = bits(g.size);
  for (let i = 0; i < g.size; i++) setBit(all, i);
  const c = gitChoice(g, { remaining: all, skipped: new Set(skipped.map((s) => g.index.get(sha(s))!)), bad: g.index.get(dag.bad)! });
  return c === null ? null : g.shas[c]!;
}

test('linear history: the commit reaching half of the candidates', () => {
  assert.equal(pick(linear(10)), sha('c5'));
  // 9 candidates: c4 (4) and c5 (5) are both halfway; the walk meets c4 first
  assert.equal(pick(linear(9)), sha('c4'));
  assert.equal(pick(linear(2)), sha('c1'));
});

test('diamond: equal halves, the tie goes to the commit git walks first (oldest in rev-list order)', () => {
  const lines = (first: string, second: string): string[] => ['d: b c', `${first}: a`, `${second}: a`, 'a: g'];
  assert.equal(pick(dagOf(lines('c', 'b'), 'd', ['g'])), sha('b'));
  assert.equal(pick(dagOf(lines('b', 'c'), 'd', ['g'])), sha('c'));
});

test('octopus merge: each arm reaches two of five; the first arm in the walk wins', () => {
  const dag = dagOf(['m: p1 p2 p3', 'p3: a', 'p2: a', 'p1: a', 'a: g'], 'm', ['g']);
  assert.equal(pick(dag), sha('p1'));
});

test('merges are counted first: a halfway merge beats an older halfway commit', () => {
  // 9 candidates; x4 reaches 4 and m1 reaches 5, both halfway. git looks at merges first.
  const dag = dagOf(['t3: t2', 't2: t1', 't1: x4 m1', 'm1: x3 y1', 'y1: x1', 'x4: x3', 'x3: x2', 'x2: x1', 'x1: g'], 't3', ['g']);
  assert.equal(pick(dag), sha('m1'));
});

test('no exact half: the best split, first in the walk', () => {
  const dag = dagOf(['m: c s', 's: g', 'c: b', 'b: a', 'a: g'], 'm', ['g']);
  // weights a1 b2 c3 s1 m5; N = 5: b (2) and c (3) are both halfway; b comes first
  assert.equal(pick(dag), sha('b'));
});

test('with skipped commits: sorted by distance then sha, skipped ones dropped', () => {
  const dag = linear(10);
  // c5 is best; once any commit is skipped git sorts, and picks c5 if it is not skipped
  assert.equal(pick(dag, ['c2']), sha('c5'));
  // c5 skipped: git draws an index into the rest of the sorted list, away from c5
  const picked = pick(dag, ['c5']);
  assert.notEqual(picked, sha('c5'));
  assert.notEqual(picked, sha('c10'));
});

test('skip-away index: a fixed function of the count, never past the end', () => {
  for (let n = 1; n < 2000; n++) {
    const i = skipAwayIndex(n);
    assert.ok(i >= 0 && i < n, `count ${n} gave ${i}`);
  }
  assert.equal(skipAwayIndex(10), 0); // prn 4543: 10·4543/32768 = 1, ·67/181 = 0
});

test('rev-list parsing: first-parent keeps only first parents; bad must be a candidate', () => {
  const [a, b, c, d] = [sha('a'), sha('b'), sha('c'), sha('d')];
  const text = `${d} ${b} ${c}\n${c} ${a}\n${b} ${a}\n`;
  const dag = parseRevList(text, { bad: d, good: [a], firstParent: true });
  assert.deepEqual(dag.commits[0], { sha: d, parents: [b] });
  assert.equal(parseRevList(text, { bad: d, good: [a] }).commits[0]!.parents.length, 2);
  assert.throws(() => parseRevList(text, { bad: a, good: [] }), /not among the candidates/);
  assert.throws(() => parseRevList('zz', { bad: a, good: [] }), /full shas/);
});
