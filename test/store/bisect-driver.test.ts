// The lab bisect driver when a step keeps failing for a reason that is not
// the user's (the database, git): it retries, waiting longer each time,
// instead of hammering every 500 ms for ever; and a user error (a job that no
// longer submits) fails the bisect after a few tries.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { dialects } from '../support/db.ts';
import { makeScheduler } from '../support/scheduler.ts';
import { makeSsLab } from '../support/ss-lab.ts';
import type { Log } from '../../src/util/log.ts';

function capturingLog(): Log & { warnings: { at: number; msg: string | undefined }[] } {
  const warnings: { at: number; msg: string | undefined }[] = [];
  return { warnings, info() {}, debug() {}, error() {}, warn: (_o, msg) => void warnings.push({ at: performance.now(), msg }) };
}

for (const dialect of await dialects()) {
  describe(`bisect driver (${dialect})`, () => {
    test('a step that fails on a database error is retried with a growing back-off', async () => {
      const log = capturingLog();
      const t = await makeScheduler(dialect, (dir) => makeSsLab(dir).lab, log);
      try {
        await t.scheduler.registerTestbox({ hostname: 'box-1', type: 'dc', arch: t.config.defaults.os_arch, max_memory: 8, cpus: 2 });
        const b = await t.scheduler.bisects.start({ job: { suite: 'use-hello', ss: { hello: { commit: 'v4' } } }, pkg: 'hello', good: 'v1', bad: 'v4', criterion: 'build' });
        // Every step reads the engine's log first: take the table away and every step fails.
        await sql.raw('ALTER TABLE bisect_log RENAME TO bisect_log_gone').execute(t.store.db);
        await new Promise((r) => setTimeout(r, 4500));
        const retries = log.warnings.filter((w) => w.msg === 'bisect step failed; retrying');
        // Waits of 500 ms, 1 s, 2 s: at most 4 attempts in 4.5 s (at a fixed 500 ms there would be 8).
        assert.ok(retries.length >= 2 && retries.length <= 4, `${retries.length} retries in 4.5 s`);
        const gaps = retries.slice(1).map((w, i) => w.at - retries[i]!.at);
        for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i]! > gaps[i - 1]! * 1.5, `the waits grow: ${gaps.map((g) => Math.round(g)).join(', ')} ms`);
        await sql.raw('ALTER TABLE bisect_log_gone RENAME TO bisect_log').execute(t.store.db);
        assert.equal((await t.scheduler.bisects.view(b.id)).state, 'running', 'a fault of the lab does not fail the bisect');
      } finally {
        await t.cleanup();
      }
    });
  });
}
