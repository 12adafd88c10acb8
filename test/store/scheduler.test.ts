// The scheduler's promises, on SQLite and on PostgreSQL alike: submit is all
// or nothing, dispatch wakes on commit, every transition is kept, deadlines
// and lost testboxes finish jobs, and the ss build cache is single-flight,
// releases and fails its waiters in the build's own transaction, retries
// infrastructure failures and forgets failures after the lab's TTL. The
// testbox side is played through the Scheduler's own methods.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { dialects } from '../support/db.ts';
import { makeScheduler, type TestScheduler } from '../support/scheduler.ts';
import { makeSsLab } from '../support/ss-lab.ts';
import { sql } from 'kysely';
import { packEntries } from '../../src/artifacts/cgz.ts';
import { UserError } from '../../src/errors.ts';
import type { Assignment } from '../../src/api/contract.ts';

const ARCH = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
const BOX = { hostname: 'box-1', type: 'dc' as const, arch: ARCH, max_memory: 8, cpus: 2 };

async function withScheduler(dialect: 'sqlite' | 'postgres', fn: (t: TestScheduler) => Promise<void>, lab?: Parameters<typeof makeScheduler>[1]) {
  const t = await makeScheduler(dialect, lab);
  try {
    await fn(t);
  } finally {
    await t.cleanup();
  }
}

/** Plays a testbox: takes its next job and runs it to the given health, uploading a stats.json first. */
async function runAs(t: TestScheduler, host: string, health = 'success', stats?: Record<string, number>): Promise<Assignment> {
  const a = await t.scheduler.next(host, 0);
  assert.ok(a, `${host} got no job`);
  const id = a.job.id;
  await t.scheduler.reportStage(id, host, 'running');
  await t.scheduler.reportStage(id, host, 'post_run');
  if (stats) await t.scheduler.saveResult(id, host, 'stats.json', Readable.from([JSON.stringify(stats)]));
  if (a.job.suite === 'pkgbuild' && health === 'success') {
    const cgz = await packEntries([{ name: 'bin/hello', data: '#!/bin/sh\necho hi\n', mode: 0o755 }]);
    await t.scheduler.saveArtifact(id, host, 'pkg.cgz', Readable.from([cgz]));
  }
  await t.scheduler.close(id, host, health);
  return a;
}

const submitOne = async (t: TestScheduler, jobs: unknown[]) => (await t.scheduler.submit(jobs))[0]!.job_id;

/** A database trigger that makes the insert of job `jobId`'s release event fail: a fault in the middle of a build's close. */
async function injectFault(t: TestScheduler, dialect: 'sqlite' | 'postgres', jobId: number): Promise<void> {
  if (dialect === 'sqlite') {
    await sql.raw(`CREATE TRIGGER inject_fault BEFORE INSERT ON events WHEN NEW.kind = 'release' AND NEW.job_id = ${jobId} BEGIN SELECT RAISE(ABORT, 'injected fault'); END`).execute(t.store.db);
    return;
  }
  await sql.raw(`CREATE FUNCTION inject_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.kind = 'release' AND NEW.job_id = ${jobId} THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$`).execute(t.store.db);
  await sql.raw('CREATE TRIGGER inject_fault BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION inject_fault()').execute(t.store.db);
}

async function removeFault(t: TestScheduler, dialect: 'sqlite' | 'postgres'): Promise<void> {
  await sql.raw(dialect === 'sqlite' ? 'DROP TRIGGER inject_fault' : 'DROP TRIGGER inject_fault ON events').execute(t.store.db);
}

const ssLab = (policy: Record<string, unknown> = {}) => (dir: string) => makeSsLab(dir, policy).lab;
const hello = (commit: string, extra: Record<string, string> = {}) => ({ suite: 'use-hello', testbox: 'dc', ss: { hello: { commit, ...extra } } });

for (const dialect of await dialects()) {
  describe(`scheduler (${dialect})`, () => {
    test('submit is all or nothing; ids are unique and ordered; result roots follow the layout', async () => {
      await withScheduler(dialect, async (t) => {
        await assert.rejects(t.scheduler.submit([{ suite: 'echo' }, { suite: 'nope' }, { suite: 'echo', runtime: 'x' }]), (err: unknown) => {
          assert.ok(err instanceof UserError);
          const issues = (err.details as { issues: { job: number; path: string }[] }).issues;
          assert.deepEqual(issues.map((i) => [i.job, i.path]), [[1, 'suite'], [2, 'runtime']]);
          return true;
        });
        assert.equal((await t.scheduler.jobs({})).length, 0, 'nothing of the refused request was kept');
        const r = await t.scheduler.submit([{ suite: 'echo' }, { suite: 'echo', testbox: 'dc-big', os: 'openeuler', os_version: '22.03', os_arch: 'aarch64' }]);
        assert.ok(r[1]!.job_id > r[0]!.job_id);
        const day = new Date(t.clock.now).toISOString().slice(0, 10);
        assert.equal(r[1]!.result_root, `/result/echo/${day}/dc-big/openeuler-22.03-aarch64/${r[1]!.job_id}`);
      });
    });

    test('a job runs through every stage, its stats come from stats.json, and its timeline keeps each step', async () => {
      await withScheduler(dialect, async (t) => {
        await t.scheduler.registerTestbox(BOX);
        const job_id = await submitOne(t, [{ suite: 'echo', echo: { n: 3 } }]);
        await runAs(t, 'box-1', 'success', { 'echo.value': 3 });
        const j = await t.scheduler.job(job_id);
        assert.equal(j.job_stage, 'finish');
        assert.equal(j.job_health, 'success');
        assert.deepEqual(j.stats, { 'echo.value': 3 });
        assert.deepEqual(j.timeline!.map((e) => e.event), ['submit', 'boot', 'running', 'post_run', 'finish']);
        assert.equal(j.testbox_host, 'box-1');
        // A late, repeated or foreign report changes nothing.
        await assert.rejects(t.scheduler.close(job_id, 'box-1', 'failed'), /already finish/);
        await assert.rejects(t.scheduler.reportStage(job_id, 'other-box', 'running'), /not held by testbox other-box/);
      });
    });

    test('a waiting long-poll is woken by the submit that gives it work', async () => {
      await withScheduler(dialect, async (t) => {
        await t.scheduler.registerTestbox(BOX);
        const waiting = t.scheduler.next('box-1', 20_000);
        await new Promise((r) => setTimeout(r, 50));
        const job_id = await submitOne(t, [{ suite: 'echo' }]);
        const a = await waiting;
        assert.equal(a?.job.id, job_id);
      });
    });

    test('a lost box heard again takes the queued job at once: its heartbeat wakes its own open long-poll', async () => {
      await withScheduler(dialect, async (t) => {
        await t.scheduler.registerTestbox(BOX);
        const job_id = await submitOne(t, [{ suite: 'echo' }]);
        // the box went silent (a stopped machine): lost, it gets no job, and its poll waits
        t.clock.now += t.config.timing.testboxLostAfter + 1000;
        const started = Date.now();
        const waiting = t.scheduler.next('box-1', 20_000);
        await new Promise((r) => setTimeout(r, 100));
        assert.equal((await t.scheduler.job(job_id)).job_stage, 'submit', 'a lost box takes no job');
        await t.scheduler.heartbeat('box-1');
        const a = await waiting;
        assert.equal(a?.job.id, job_id);
        assert.ok(Date.now() - started < 5000, `the poll waited ${Date.now() - started} ms after the heartbeat`);
      });
    });

    test('a job too big for the box waits; a box with room takes it', async () => {
      await withScheduler(dialect, async (t) => {
        await t.scheduler.registerTestbox({ ...BOX, hostname: 'small', max_memory: 2 });
        await t.scheduler.registerTestbox({ ...BOX, hostname: 'big', max_memory: 16 });
        const job_id = await submitOne(t, [{ suite: 'echo', memory_minimum: 4 }]);
        assert.equal(await t.scheduler.next('small', 0), null);
        assert.equal((await t.scheduler.next('big', 0))?.job.id, job_id);
      });
    });

    test('deadlines: an overrun on a live box is timeout, a silent box is abnormal', async () => {
      await withScheduler(dialect, async (t) => {
        await t.scheduler.registerTestbox(BOX);
        await t.scheduler.registerTestbox({ ...BOX, hostname: 'box-2' });
        const ids = (await t.scheduler.submit([{ suite: 'echo', runtime: 10 }, { suite: 'echo', runtime: 10 }])).map((r) => r.job_id);
        const a = (await t.scheduler.next('box-1', 0))!;
        const b = (await t.scheduler.next('box-2', 0))!;
        await t.scheduler.reportStage(a.job.id, 'box-1', 'running');
        await t.scheduler.reportStage(b.job.id, 'box-2', 'running');
        // Time passes past the running deadline; box-1 still beats, box-2 has gone silent.
        t.clock.now += 10_000 + Math.max(10_000 / 8, t.config.deadlines.runningGrace) + 1;
        await t.scheduler.heartbeat('box-1');
        const swept = await t.scheduler.sweep();
        assert.deepEqual(swept.finished.map((f) => [f.id, f.health]).sort(), [[a.job.id, 'timeout'], [b.job.id, 'abnormal']].sort());
        assert.deepEqual(ids.sort(), [a.job.id, b.job.id].sort());
        // Sweeping again finds nothing: no job is finished twice.
        assert.equal((await t.scheduler.sweep()).finished.length, 0);
      });
    });

    test('cancel finishes a job once; the heartbeat stops listing it to its testbox', async () => {
      await withScheduler(dialect, async (t) => {
        await t.scheduler.registerTestbox(BOX);
        const job_id = await submitOne(t, [{ suite: 'echo' }]);
        await t.scheduler.next('box-1', 0);
        assert.deepEqual((await t.scheduler.heartbeat('box-1')).jobs, [job_id]);
        await t.scheduler.cancel(job_id);
        assert.deepEqual((await t.scheduler.heartbeat('box-1')).jobs, []);
        assert.equal((await t.scheduler.job(job_id)).job_health, 'cancel');
        await assert.rejects(t.scheduler.cancel(job_id), /already finished/);
      });
    });

    test('ss: concurrent identical submits make one build; its close releases every waiter in one transaction', async () => {
      await withScheduler(
        dialect,
        async (t) => {
          await t.scheduler.registerTestbox(BOX);
          const ids = (await Promise.all(Array.from({ length: 12 }, () => t.scheduler.submit([hello('v2')])))).flat().map((r) => r.job_id);
          const builds = await t.scheduler.builds({});
          assert.equal(builds.length, 1);
          assert.equal(builds[0]!.waiting, 12);
          for (const id of ids) assert.equal((await t.scheduler.job(id)).waiting, true);
          const a = (await t.scheduler.next('box-1', 0))!;
          assert.equal(a.job.suite, 'pkgbuild');
          await t.scheduler.reportStage(a.job.id, 'box-1', 'running');
          await t.scheduler.reportStage(a.job.id, 'box-1', 'post_run');
          await t.scheduler.saveArtifact(a.job.id, 'box-1', 'pkg.cgz', Readable.from([await packEntries([{ name: 'bin/hello', data: 'x', mode: 0o755 }])]));

          // A fault inside the closing transaction, after its waiters were released: nothing of the close may remain.
          const last = Math.max(...ids);
          await injectFault(t, dialect, last);
          await assert.rejects(t.scheduler.close(a.job.id, 'box-1', 'success'), /injected fault/);
          for (const id of ids) assert.equal((await t.scheduler.job(id)).waiting, true, `job ${id} was released by a close that failed`);
          assert.equal((await t.scheduler.job(a.job.id)).job_stage, 'post_run');
          assert.equal((await t.scheduler.builds({}))[0]!.state, 'building');
          await removeFault(t, dialect);

          // The testbox's retried close goes through, and with it every release.
          await t.scheduler.close(a.job.id, 'box-1', 'success');
          const released = await Promise.all(ids.map((id) => t.scheduler.job(id)));
          for (const j of released) {
            assert.equal(j.waiting, false);
            assert.equal(j.initrds.length, 2);
            const release = j.timeline!.find((e) => e.event === 'release')!;
            const close = (await t.scheduler.job(a.job.id)).timeline!.find((e) => e.event === 'finish')!;
            assert.equal(release.time, close.time);
          }
          // The next claims hand out the released jobs.
          assert.ok(ids.includes((await t.scheduler.next('box-1', 0))!.job.id));
        },
        ssLab(),
      );
    });

    test('ss: a failed recipe finishes every waiter; the failure is remembered for the lab’s TTL, then built again', async () => {
      await withScheduler(
        dialect,
        async (t) => {
          await t.scheduler.registerTestbox(BOX);
          const [w1, w2] = (await t.scheduler.submit([hello('v1'), hello('v1')])).map((r) => r.job_id);
          const pb = await runAs(t, 'box-1', 'failed');
          for (const id of [w1!, w2!]) {
            const j = await t.scheduler.job(id);
            assert.equal(j.job_health, 'dependency_failed');
            assert.deepEqual(j.dep_failure, { pkg: 'hello', build_key: j.deps[0]!.build_key, pkgbuild_job: pb.job.id, health: 'failed', log: `${pb.job.result_root}/build.log` });
          }
          const cached = await submitOne(t, [hello('v1')]);
          assert.equal((await t.scheduler.job(cached)).job_health, 'dependency_failed');
          t.clock.now += 61_000; // the lab below remembers failures for 60 s
          const later = await submitOne(t, [hello('v1')]);
          const j = await t.scheduler.job(later);
          assert.equal(j.waiting, true);
          assert.equal(j.deps[0]!.build_state, 'queued');
          assert.notEqual(Number(Object.keys(j.ss_wait_jobs)[0]), pb.job.id, 'a new pkgbuild job');
        },
        ssLab({ failed_build_ttl: 60 }),
      );
    });

    test('ss: a cached build whose artifact vanished from disk is built again, not handed out', async () => {
      await withScheduler(
        dialect,
        async (t) => {
          await t.scheduler.registerTestbox(BOX);
          const first = await submitOne(t, [hello('v2')]);
          await runAs(t, 'box-1');
          const j = await t.scheduler.job(first);
          rmSync(join(t.config.srvDir, j.initrds[1]!));
          const again = await submitOne(t, [hello('v2')]);
          const k = await t.scheduler.job(again);
          assert.equal(k.waiting, true);
          assert.equal(k.deps[0]!.build_key, j.deps[0]!.build_key);
          assert.equal(k.deps[0]!.build_state, 'queued');
          assert.equal(k.initrds.length, 1, 'no URL to the missing file');
        },
        ssLab(),
      );
    });

    test('ss: a build whose testbox is lost is retried, then counts as failed after the lab’s retries', async () => {
      await withScheduler(
        dialect,
        async (t) => {
          await t.scheduler.registerTestbox(BOX);
          const job_id = await submitOne(t, [hello('v2')]);
          for (let attempt = 1; attempt <= 2; attempt++) {
            const a = (await t.scheduler.next('box-1', 0))!;
            assert.equal(a.job.suite, 'pkgbuild');
            t.clock.now += t.config.deadlines.bootTimeout + 1;
            await t.scheduler.heartbeat('box-1');
            await t.scheduler.sweep();
            const j = await t.scheduler.job(job_id);
            if (attempt === 1) {
              assert.equal(j.job_stage, 'submit', 'still waiting after the first loss');
              assert.ok(j.timeline!.some((e) => e.event === 'build_retry'));
            } else {
              assert.equal(j.job_health, 'dependency_failed');
              assert.equal((j.dep_failure as { health: string }).health, 'abnormal');
            }
          }
          const b = (await t.scheduler.builds({}))[0]!;
          assert.equal(b.state, 'failed');
          assert.equal(b.attempts, 2);
        },
        ssLab({ build_retries: 1 }),
      );
    });

    test('ss: cancelling the last waiter cancels a build not yet started; a started one runs on', async () => {
      await withScheduler(
        dialect,
        async (t) => {
          await t.scheduler.registerTestbox(BOX);
          const [a1, a2] = (await t.scheduler.submit([hello('v1'), hello('v1')])).map((r) => r.job_id);
          await t.scheduler.cancel(a1!);
          assert.equal((await t.scheduler.builds({}))[0]!.state, 'queued', 'another job still waits');
          await t.scheduler.cancel(a2!);
          assert.equal((await t.scheduler.builds({}))[0]!.state, 'cancelled');
          // A submit after that builds again.
          const job_id = await submitOne(t, [hello('v1')]);
          assert.equal((await t.scheduler.job(job_id)).deps[0]!.build_state, 'queued');
          await t.scheduler.next('box-1', 0); // the build starts
          await t.scheduler.cancel(job_id);
          assert.equal((await t.scheduler.builds({}))[0]!.state, 'building', 'a started build is not thrown away');
        },
        ssLab(),
      );
    });

    test('ss: an artifact is accepted only from the holder of the build’s current job, and only the package’s names', async () => {
      await withScheduler(
        dialect,
        async (t) => {
          await t.scheduler.registerTestbox(BOX);
          await t.scheduler.submit([hello('v2')]);
          const a = (await t.scheduler.next('box-1', 0))!;
          await assert.rejects(t.scheduler.saveArtifact(a.job.id, 'box-2', 'pkg.cgz', Readable.from(['x'])), /not held/);
          await assert.rejects(t.scheduler.saveArtifact(a.job.id, 'box-1', 'vmlinuz', Readable.from(['x'])), /uploads pkg\.cgz, not vmlinuz/);
          const stored = await t.scheduler.saveArtifact(a.job.id, 'box-1', 'pkg.cgz', Readable.from(['some bytes']));
          // The server's own digest of what it stored, not the testbox's word.
          assert.equal(stored.sha256, createHash('sha256').update('some bytes').digest('hex'));
          assert.equal(stored.size, 10);
          assert.equal(readFileSync(join(t.config.srvDir, stored.path), 'utf8'), 'some bytes');
        },
        ssLab(),
      );
    });
  });
}
