// The lab's own health check (lab.yaml health_check), on both dialects: a
// box that leaves dispatch gets one, and only one however many sweeps run at
// once (the check and the insert share a transaction with the box's row
// locked); a check file the lab cannot use queues nothing and breaks no sweep.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { dialects } from '../support/db.ts';
import { ECHO_SUITE, makeScheduler, type TestScheduler } from '../support/scheduler.ts';

const ARCH = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
const BOX = { hostname: 'box-1', type: 'dc' as const, arch: ARCH, max_memory: 8, cpus: 2 };
const LAB = { policy: { testbox_max_infra_failures: 1, health_check: 'jobs/health.yaml' }, suites: { echo: ECHO_SUITE }, files: { 'jobs/health.yaml': 'suite: echo\necho:\n  check: 1\n' } };

/** The box ends a job abnormal: one infrastructure failure, and with the limit at 1 it leaves dispatch. */
async function takeOut(t: TestScheduler): Promise<void> {
  const [r] = await t.scheduler.submit([{ suite: 'echo' }]);
  const a = await t.scheduler.next('box-1', 0);
  assert.equal(a?.job.id, r!.job_id);
  await t.scheduler.reportStage(r!.job_id, 'box-1', 'running');
  await t.scheduler.close(r!.job_id, 'box-1', 'abnormal');
  assert.equal((await t.scheduler.testboxes())[0]!.state, 'disabled');
}

for (const dialect of await dialects()) {
  describe(`the lab's health check (${dialect})`, () => {
    test('sweeps at once queue one check on the box out of dispatch; it is the box’s one job, and passing brings it back', async () => {
      const t = await makeScheduler(dialect, LAB);
      try {
        await t.scheduler.registerTestbox(BOX);
        assert.equal((await t.scheduler.sweep()).healthChecks, undefined, 'no box out, no check');
        await takeOut(t);
        const [ordinary] = await t.scheduler.submit([{ suite: 'echo' }]);
        const reports = await Promise.all([t.scheduler.sweep(), t.scheduler.sweep(), t.scheduler.sweep()]);
        const queued = reports.flatMap((r) => r.healthChecks ?? []);
        assert.equal(queued.length, 1, JSON.stringify(reports));
        assert.equal(queued[0]!.testbox, 'box-1');
        assert.equal((await t.scheduler.sweep()).healthChecks, undefined, 'and none at the next sweep');
        const a = await t.scheduler.next('box-1', 0);
        assert.equal(a?.job.id, queued[0]!.job, 'out of dispatch, the box takes its check, not the ordinary job');
        await t.scheduler.reportStage(a!.job.id, 'box-1', 'running');
        await t.scheduler.close(a!.job.id, 'box-1', 'success');
        assert.notEqual((await t.scheduler.testboxes())[0]!.state, 'disabled');
        assert.equal((await t.scheduler.next('box-1', 0))?.job.id, ordinary!.job_id);
      } finally {
        await t.cleanup();
      }
    });

    test('a check file the lab cannot use (a suite it lacks) queues nothing, and sweeps go on', async () => {
      const t = await makeScheduler(dialect, LAB);
      try {
        writeFileSync(t.config.lab.resolveInside('jobs/health.yaml'), 'suite: no-such-suite\n');
        await t.scheduler.registerTestbox(BOX);
        await takeOut(t);
        for (let i = 0; i < 3; i++) assert.equal((await t.scheduler.sweep()).healthChecks, undefined);
        assert.equal((await t.scheduler.jobs({ limit: 100 })).length, 1, 'only the job the box lost');
      } finally {
        await t.cleanup();
      }
    });
  });
}
