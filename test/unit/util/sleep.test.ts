// sleep(): a timer an AbortSignal cuts short, which leaves nothing behind on
// the signal — the agent and the bisect driver pass one long-lived stop
// signal to every sleep they ever do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { backoff, sleep } from '../../../src/util/sleep.ts';

test('two hundred sleeps on one signal leave no listener on it', async () => {
  const ac = new AbortController();
  for (let i = 0; i < 200; i++) await sleep(0, ac.signal);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});

test('an abort ends a sleep at once, and a sleep on an aborted signal does not wait', async () => {
  const ac = new AbortController();
  const started = performance.now();
  const pending = sleep(60_000, ac.signal);
  ac.abort();
  await pending;
  await sleep(60_000, ac.signal);
  assert.ok(performance.now() - started < 1000);
  assert.equal(getEventListeners(ac.signal, 'abort').length, 0);
});

test('back-off doubles from its base up to its cap', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 5, 40].map((n) => backoff(n, 500, 10_000)), [500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
});
