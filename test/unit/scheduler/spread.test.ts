// How a lab bisect spreads a commit's perf samples over its testboxes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spreadSamples } from '../../../src/scheduler/bisect/spread.ts';

test('one box (or none): nothing is pinned', () => {
  assert.deepEqual(spreadSamples(['a'], ['x', 'x'], []), [undefined, undefined]);
  assert.deepEqual(spreadSamples([], ['x'], []), [undefined]);
});

test('a commit\'s samples go round the boxes, the least loaded first', () => {
  assert.deepEqual(spreadSamples(['a', 'b', 'c'], ['x', 'x', 'x', 'x', 'x'], []), ['a', 'b', 'c', 'a', 'b']);
  // c is busy with two open jobs: x's first two samples go to a and b
  const busy = [{ sha: 'y', box: 'c', open: true }, { sha: 'y', box: 'c', open: true }];
  assert.deepEqual(spreadSamples(['a', 'b', 'c'], ['x', 'x', 'x'], busy), ['a', 'b', 'c']);
  // two commits at once share the boxes
  assert.deepEqual(spreadSamples(['a', 'b'], ['x', 'x', 'y', 'y'], []), ['a', 'b', 'a', 'b']);
});

test('a commit already measured on a box gets its next samples elsewhere, finished runs included', () => {
  const placed = [{ sha: 'x', box: 'a', open: false }, { sha: 'x', box: 'a', open: false }, { sha: 'x', box: 'b', open: false }, { sha: 'z', box: null, open: true }];
  assert.deepEqual(spreadSamples(['a', 'b', 'c'], ['x', 'x', 'x'], placed), ['c', 'b', 'c']);
});
