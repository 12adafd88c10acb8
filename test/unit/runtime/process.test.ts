// The dc runtime's stop rules: a job the scheduler dropped while it was still
// being set up is never started (it would otherwise run its whole length on a
// box the scheduler thinks is free), and one dropped while running is killed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessRuntime } from '../../../src/runtime/process.ts';

function scratch(): { dir: string; script: string; marker: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'stacklab-runtime-'));
  const marker = join(dir, 'ran');
  const script = join(dir, 'run');
  writeFileSync(script, `#!/bin/sh\n: > "${marker}"\nexec sleep 30\n`, { mode: 0o755 });
  return { dir, script, marker, done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a run whose signal is already aborted starts nothing and says it was aborted', async () => {
  const s = scratch();
  try {
    const ac = new AbortController();
    ac.abort();
    const t0 = Date.now();
    const r = await new ProcessRuntime().run({ command: s.script, args: [], cwd: s.dir, env: { PATH: process.env.PATH! }, timeoutMs: 60_000, outputFile: join(s.dir, 'output'), signal: ac.signal });
    assert.equal(r.aborted, true);
    assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(existsSync(s.marker), false, 'the command was started');
  } finally {
    s.done();
  }
});

test('a run aborted while it runs is killed, group and all', async () => {
  const s = scratch();
  try {
    const ac = new AbortController();
    const t0 = Date.now();
    const running = new ProcessRuntime().run({ command: s.script, args: [], cwd: s.dir, env: { PATH: process.env.PATH! }, timeoutMs: 60_000, outputFile: join(s.dir, 'output'), signal: ac.signal });
    while (!existsSync(s.marker)) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    const r = await running;
    assert.equal(r.aborted, true);
    assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
  } finally {
    s.done();
  }
});
