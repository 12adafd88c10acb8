// Why jobs wait and what ends waiting (issue 13), through the Scheduler on
// SQLite and PostgreSQL: the queue position and the queue timeout's grouped
// scan (measured from a job's release, not its submit), an unrunnable
// pkgbuild job failing its waiters without being remembered as a failed
// build, and a testbox's infrastructure failures in a row (migration 010)
// taking it out of dispatch until it is enabled; a restart is not its fault.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { dialects } from '../support/db.ts';
import { makeScheduler, type TestScheduler } from '../support/scheduler.ts';
import { makeSsLab } from '../support/ss-lab.ts';

const lab = (dir: string) => makeSsLab(dir, { queue_timeout: 60, testbox_max_infra_failures: 2, build_testbox: 'dc-build' }).lab;
const box = (t: TestScheduler, hostname: string, max_memory = 8) => ({ hostname, type: 'dc', arch: t.config.defaults.os_arch, max_memory, cpus: 2 });

async function withScheduler(dialect: 'sqlite' | 'postgres', fn: (t: TestScheduler) => Promise<void>) {
  const t = await makeScheduler(dialect, lab);
  try {
    await fn(t);
  } finally {
    await t.cleanup();
  }
}

for (const dialect of await dialects()) {
  describe(`waiting (${dialect})`, () => {
    test('position follows priority then age; the queue timeout counts from the release, and spares jobs a box can take', async () => {
      await withScheduler(dialect, async (t) => {
        await t.scheduler.registerTestbox(box(t, 'box-1'));
        const [low, high, big] = await t.scheduler.submit([{ suite: 'boot-test' }, { suite: 'boot-test', priority: 5 }, { suite: 'boot-test', memory_minimum: 32 }]);
        assert.equal((await t.scheduler.job(high!.job_id)).wait_reason?.position, 1);
        assert.equal((await t.scheduler.job(low!.job_id)).wait_reason?.position, 2);
        assert.equal((await t.scheduler.job(big!.job_id)).wait_reason?.kind, 'no_testbox');
        // A job released from its build only now has waited only since then.
        const [built] = await t.scheduler.submit([{ suite: 'use-hello', memory_minimum: 32, ss: { hello: { commit: 'v2' } } }]);
        t.clock.now += 59_000;
        // Its build done 59 s after submit (as finish.ts releases it: the dep done, nothing pending, a release event).
        await t.store.db.updateTable('job_deps').set({ state: 'done' }).where('job_id', '=', built!.job_id).execute();
        await t.store.db.updateTable('jobs').set({ deps_pending: 0 }).where('id', '=', built!.job_id).execute();
        await t.store.db.insertInto('events').values({ job_id: built!.job_id, time: t.clock.now, kind: 'release', detail: null }).execute();

        t.clock.now += 2_000;
        await t.scheduler.heartbeat('box-1');
        const report = await t.scheduler.sweep();
        assert.deepEqual(report.finished.map((f) => [f.id, f.health]), [[big!.job_id, 'unrunnable']]);
        assert.equal((await t.scheduler.job(built!.job_id)).job_stage, 'submit', 'released 2 s ago: it waits on');
        assert.equal((await t.scheduler.job(low!.job_id)).job_stage, 'submit', 'a box can take it: it waits on');
        t.clock.now += 59_000;
        await t.scheduler.heartbeat('box-1');
        assert.deepEqual((await t.scheduler.sweep()).finished.filter((f) => f.health === 'unrunnable').map((f) => f.id), [built!.job_id]);
      });
    });

    test('a pkgbuild job no testbox can take fails its waiters, and the build is not remembered as failed', async () => {
      await withScheduler(dialect, async (t) => {
        const [r] = await t.scheduler.submit([{ suite: 'use-hello', ss: { hello: { commit: 'v2' } } }]);
        const w = (await t.scheduler.job(r!.job_id)).wait_reason!;
        assert.equal(w.kind, 'build');
        t.clock.now += 61_000;
        await t.scheduler.sweep();
        const j = await t.scheduler.job(r!.job_id);
        assert.equal(j.job_health, 'dependency_failed');
        assert.equal(j.dep_failure?.health, 'unrunnable');
        assert.match(String(j.dep_failure?.error), /no registered testbox could take the pkgbuild job \(testbox dc-build\)/);
        const [b] = await t.scheduler.builds({});
        assert.equal(b!.state, 'cancelled');
        // A later submit builds again instead of failing at once, where it says now (the group is not in the key).
        const [again] = await t.scheduler.submit([{ suite: 'use-hello', ss: { hello: { commit: 'v2', testbox: 'dc-fixed' } } }]);
        const j2 = await t.scheduler.job(again!.job_id);
        assert.equal(j2.job_stage, 'submit');
        assert.equal(j2.deps[0]!.build_key, b!.key);
        assert.equal((await t.scheduler.job(j2.deps[0]!.pkgbuild_job!)).testbox, 'dc-fixed');
      });
    });

    test('infrastructure failures in a row take a box out; a restart does not count; enable brings it back', async () => {
      await withScheduler(dialect, async (t) => {
        await t.scheduler.registerTestbox(box(t, 'box-1'));
        const run = async () => {
          const [r] = await t.scheduler.submit([{ suite: 'boot-test' }]);
          const a = (await t.scheduler.next('box-1', 0))!;
          assert.equal(a.job.id, r!.job_id);
          await t.scheduler.reportStage(a.job.id, 'box-1', 'running');
          return a.job.id;
        };
        // Two restarts mid-job: the jobs end abnormal, the box is not blamed.
        for (let i = 0; i < 2; i++) {
          await run();
          await t.scheduler.registerTestbox(box(t, 'box-1'));
        }
        assert.equal((await t.scheduler.testboxes())[0]!.infra_failures, 0);
        // Nor does a build the box reports it could not fetch (the upstream's failure, as often as not).
        await t.scheduler.submit([{ suite: 'use-hello', ss: { hello: { commit: 'v2' } } }]);
        const pb = (await t.scheduler.next('box-1', 0))!;
        assert.equal(pb.job.suite, 'pkgbuild');
        await t.scheduler.close(pb.job.id, 'box-1', 'abnormal');
        assert.equal((await t.scheduler.testboxes())[0]!.infra_failures, 0);
        const retry = (await t.scheduler.next('box-1', 0))!;
        assert.equal(retry.job.suite, 'pkgbuild', 'the build is retried');
        await t.scheduler.cancel(retry.job.id);
        // Two jobs lost to the box's silence: out of dispatch.
        for (let i = 0; i < 2; i++) {
          const id = await run();
          t.clock.now += 61_000;
          await t.scheduler.sweep();
          assert.equal((await t.scheduler.job(id)).job_health, 'abnormal');
          await t.scheduler.heartbeat('box-1');
        }
        const [st] = await t.scheduler.testboxes();
        assert.equal(st!.state, 'disabled');
        assert.match(st!.disabled_reason!, /2 infrastructure failures in a row \(the last: job \d+, testbox box-1 silent for 61 s\)/);
        const [q] = await t.scheduler.submit([{ suite: 'boot-test' }]);
        assert.equal(await t.scheduler.next('box-1', 0), null);
        const timeline = (await t.scheduler.job(q!.job_id - 1)).timeline!.map((e) => e.event);
        assert.ok(timeline.includes('testbox_disabled'), timeline.join(' '));
        // Registering again does not heal it; an admin does.
        await t.scheduler.registerTestbox(box(t, 'box-1'));
        assert.equal((await t.scheduler.testboxes())[0]!.state, 'disabled');
        await t.scheduler.enableTestbox('box-1');
        assert.equal((await t.scheduler.next('box-1', 0))!.job.id, q!.job_id);
      });
    });
  });
}
