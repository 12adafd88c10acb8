// The faults of a shared lab (issue 12), on SQLite and PostgreSQL, through
// the Scheduler: a build with thousands of waiters, a testbox that restarts
// or loses track of a job, a box whose heartbeats stopped, a retried submit,
// a server that stalls, and a submit that must wake only the pollers that
// can take its job.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { dialects } from '../support/db.ts';
import { makeScheduler, type TestScheduler } from '../support/scheduler.ts';
import { makeSsLab } from '../support/ss-lab.ts';
import { tempDir } from '../support/tmp.ts';
import { packEntries } from '../../src/artifacts/cgz.ts';
import { Store } from '../../src/store/db.ts';
import { addEvents } from '../../src/store/events.ts';
import { insertJob } from '../../src/store/jobs.ts';
import type { ResolvedJob } from '../../src/model/job.ts';
import { SUBMIT_KEY_TTL_MS } from '../../src/scheduler/sweeper.ts';
import { UserError } from '../../src/errors.ts';

const ssLab = (dir: string) => makeSsLab(dir).lab;
const hello = (commit: string) => ({ suite: 'use-hello', testbox: 'dc', ss: { hello: { commit } } });

async function withScheduler(dialect: 'sqlite' | 'postgres', fn: (t: TestScheduler) => Promise<void>, lab: Parameters<typeof makeScheduler>[1] = ssLab) {
  const t = await makeScheduler(dialect, lab);
  try {
    await fn(t);
  } finally {
    await t.cleanup();
  }
}

const box = (t: TestScheduler, hostname: string, type = 'dc') => ({ hostname, type, arch: t.config.defaults.os_arch, max_memory: 10_000, cpus: 2 });

/** Runs the box's next pkgbuild job to success with a real artifact. */
async function buildOn(t: TestScheduler, host: string): Promise<number> {
  const a = (await t.scheduler.next(host, 0))!;
  assert.equal(a.job.suite, 'pkgbuild');
  await t.scheduler.reportStage(a.job.id, host, 'running');
  await t.scheduler.saveArtifact(a.job.id, host, 'pkg.cgz', Readable.from([await packEntries([{ name: 'bin/hello', data: 'x', mode: 0o755 }])]));
  await t.scheduler.close(a.job.id, host, 'success');
  return a.job.id;
}

for (const dialect of await dialects()) {
  describe(`faults (${dialect})`, () => {
    test('a build with 2,000 waiting jobs releases them all when it closes (no signal over the engine’s limit)', async () => {
      await withScheduler(dialect, async (t) => {
        await t.scheduler.registerTestbox(box(t, 'box-1'));
        const ids = (await t.scheduler.submit(Array.from({ length: 2000 }, () => hello('v2')))).map((r) => r.job_id);
        assert.equal((await t.scheduler.builds({}))[0]!.waiting, 2000);
        await buildOn(t, 'box-1');
        const jobs = await t.scheduler.jobs({ stage: 'submit', limit: 1000 });
        assert.ok(jobs.every((j) => !j.waiting));
        assert.equal((await t.scheduler.builds({}))[0]!.waiting, 0);
        const sample = await t.scheduler.job(ids[1999]!);
        assert.equal(sample.timeline!.at(-1)!.event, 'release');
      });
    });

    test('a testbox that registers again ends what its previous incarnation held: a started build is retried, a job never started is handed out again', async () => {
      await withScheduler(dialect, async (t) => {
        await t.scheduler.registerTestbox(box(t, 'box-1'));
        const [r] = await t.scheduler.submit([hello('v2')]);
        const a = (await t.scheduler.next('box-1', 0))!;
        assert.equal(a.job.suite, 'pkgbuild');
        await t.scheduler.reportStage(a.job.id, 'box-1', 'running');
        const again = await t.scheduler.registerTestbox(box(t, 'box-1'));
        assert.deepEqual(again.ended, [a.job.id]);
        const old = await t.scheduler.job(a.job.id);
        assert.equal(old.job_health, 'abnormal');
        assert.match(String(old.timeline!.at(-1)!.reason), /registered again/);
        // The build's retry waits for the box at once, and the test job still waits on it.
        const retry = (await t.scheduler.next('box-1', 0))!;
        assert.equal(retry.job.suite, 'pkgbuild');
        assert.notEqual(retry.job.id, a.job.id);
        assert.equal((await t.scheduler.job(r!.job_id)).waiting, true);
        // Restarted before it started the retry: the same job is handed out again, not failed.
        assert.deepEqual((await t.scheduler.registerTestbox(box(t, 'box-1'))).ended, [retry.job.id]);
        const requeued = await t.scheduler.job(retry.job.id);
        assert.equal(requeued.job_stage, 'submit');
        assert.equal(requeued.timeline!.at(-1)!.event, 'requeue');
        assert.equal((await t.scheduler.next('box-1', 0))!.job.id, retry.job.id);
      });
    });

    test('a heartbeat that does not list a job the box holds: a hand-over that never arrived is handed out again, a started job ends abnormal', async () => {
      await withScheduler(dialect, async (t) => {
        await t.scheduler.registerTestbox(box(t, 'box-1'));
        const [r, s] = await t.scheduler.submit([{ suite: 'boot-test' }, { suite: 'boot-test' }]);
        assert.equal((await t.scheduler.next('box-1', 0))!.job.id, r!.job_id);
        assert.equal((await t.scheduler.next('box-1', 0))!.job.id, s!.job_id);
        await t.scheduler.reportStage(s!.job_id, 'box-1', 'running');
        // Just handed over: the box may not have them yet.
        assert.deepEqual((await t.scheduler.heartbeat('box-1', undefined, [])).jobs, [r!.job_id, s!.job_id]);
        t.clock.now += 11_000;
        assert.deepEqual((await t.scheduler.heartbeat('box-1', undefined, [r!.job_id, s!.job_id])).jobs, [r!.job_id, s!.job_id], 'running them: kept');
        assert.deepEqual((await t.scheduler.heartbeat('box-1', undefined, [])).jobs, [], 'not running them: no longer its');
        const lost = await t.scheduler.job(r!.job_id);
        assert.equal(lost.job_stage, 'submit', 'never started: queued again');
        assert.match(String(lost.timeline!.at(-1)!.reason), /never got it/);
        const ended = await t.scheduler.job(s!.job_id);
        assert.equal(ended.job_health, 'abnormal');
        assert.match(String(ended.timeline!.at(-1)!.reason), /no longer runs it/);
        assert.equal((await t.scheduler.next('box-1', 0))!.job.id, r!.job_id, 'and handed out again');
      }, { suites: { 'boot-test': { run: '#!/bin/sh\n' } } });
    });

    test('a box whose heartbeats stopped gets no job, even through a long-poll it left open', async () => {
      await withScheduler(dialect, async (t) => {
        await t.scheduler.registerTestbox(box(t, 'box-1'));
        t.clock.now += 2_000; // past testbox_lost_after (1.5 s)
        const [r] = await t.scheduler.submit([{ suite: 'boot-test' }]);
        assert.equal(await t.scheduler.next('box-1', 0), null);
        await t.scheduler.heartbeat('box-1');
        assert.equal((await t.scheduler.next('box-1', 0))!.job.id, r!.job_id);
      }, { suites: { 'boot-test': { run: '#!/bin/sh\n' } } });
    });

    test('a submit retried with its Idempotency-Key is answered again and submits nothing twice; the key with another body is refused', async () => {
      await withScheduler(dialect, async (t) => {
        const first = await t.scheduler.submit([{ suite: 'boot-test' }, { suite: 'boot-test' }], undefined, 'key-1');
        const again = await t.scheduler.submit([{ suite: 'boot-test' }, { suite: 'boot-test' }], undefined, 'key-1');
        assert.deepEqual(again, first);
        assert.equal((await t.scheduler.jobs({})).length, 2);
        await assert.rejects(t.scheduler.submit([{ suite: 'boot-test' }], undefined, 'key-1'), (err: unknown) => err instanceof UserError && err.code === 'idempotency_conflict');
        // Racing retries of one key make one submit.
        const racing = await Promise.all(Array.from({ length: 5 }, () => t.scheduler.submit([{ suite: 'boot-test' }], undefined, 'key-2').catch((e: unknown) => e)));
        const answers = racing.filter((x): x is { job_id: number; result_root: string }[] => Array.isArray(x));
        assert.ok(answers.length >= 1);
        for (const a of answers) assert.deepEqual(a, answers[0]);
        assert.equal((await t.scheduler.jobs({})).length, 3);
        // A day on, the sweeper has forgotten the keys: key-1 is free for another submit.
        assert.equal((await t.scheduler.sweep()).keysPruned, 0, 'a key of today is kept');
        t.clock.now += SUBMIT_KEY_TTL_MS + 3600_000;
        assert.equal((await t.scheduler.sweep()).keysPruned, 2);
        const later = await t.scheduler.submit([{ suite: 'boot-test' }], undefined, 'key-1');
        assert.notDeepEqual(later, first);
        assert.equal((await t.scheduler.jobs({})).length, 4);
      }, { suites: { 'boot-test': { run: '#!/bin/sh\n' } } });
    });

    test('a submit wakes as many long-polls of its job’s type and arch as it has jobs, and no other', async () => {
      await withScheduler(dialect, async (t) => {
        const arch = t.config.defaults.os_arch;
        for (let i = 0; i < 6; i++) await t.scheduler.registerTestbox(box(t, `dc-${i}`));
        for (let i = 0; i < 6; i++) await t.scheduler.registerTestbox(box(t, `vm-${i}`, 'vm'));
        const stop = new AbortController();
        const woken: string[] = [];
        const polls = [...Array.from({ length: 6 }, (_, i) => `dc-${i}`), ...Array.from({ length: 6 }, (_, i) => `vm-${i}`)].map((h) =>
          t.scheduler.next(h, 5_000, stop.signal).then((a) => {
            woken.push(h);
            return a;
          }),
        );
        const claims = async () => (await t.scheduler.ctx.metrics.claimSeconds.get()).values.find((v) => v.metricName === 'stacklab_claim_seconds_count')?.value ?? 0;
        // Every poll has tried once and found nothing: all twelve are waiting now.
        for (let i = 0; i < 100 && (await claims()) < 12; i++) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 50));
        const tried = await claims();
        assert.equal(tried, 12);
        const before = performance.now();
        await t.scheduler.submit([{ suite: 'boot-test', os_arch: arch }, { suite: 'boot-test', os_arch: arch }]);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal((await claims()) - tried, 2, 'two jobs, two claims: the other pollers slept on');
        assert.equal(woken.length, 2, `woken: ${woken.join(' ')}`);
        assert.ok(woken.every((h) => h.startsWith('dc-')));
        assert.ok(performance.now() - before < 2_000);
        stop.abort();
        const got = (await Promise.all(polls)).filter((a) => a !== null);
        assert.equal(got.length, 2, 'the two woken took the two jobs');
      }, { suites: { 'boot-test': { run: '#!/bin/sh\n' } } });
    });

    test('the server’s own stall is not a testbox’s silence; a box silent after it is still lost', async () => {
      await withScheduler(dialect, async (t) => {
        Object.defineProperty(t.clock, 'now', { get: () => Date.now() }); // real time: the sweeper runs on its timer
        await t.scheduler.registerTestbox(box(t, 'box-1'));
        const [r] = await t.scheduler.submit([{ suite: 'boot-test' }]);
        assert.equal((await t.scheduler.next('box-1', 0))!.job.id, r!.job_id);
        t.scheduler.start();
        const until = Date.now() + 2_500; // block the event loop past testbox_lost_after (1.5 s)
        while (Date.now() < until) {
          /* a stall: nothing of this process runs, heartbeats queue unheard */
        }
        await new Promise((res) => setTimeout(res, 600)); // a few sweeps
        assert.equal((await t.scheduler.job(r!.job_id)).job_stage, 'boot', 'the stall was not blamed on the box');
        await new Promise((res) => setTimeout(res, 2_000)); // now it really is silent
        const j = await t.scheduler.job(r!.job_id);
        assert.equal(j.job_health, 'abnormal');
        assert.match(String(j.timeline!.at(-1)!.reason), /silent/);
      }, { suites: { 'boot-test': { run: '#!/bin/sh\n' } } });
    });
  });
}

describe('the SQLite WAL', () => {
  test('stays bounded under a stream of writes: past its limit a checkpoint empties it', async () => {
    const t = tempDir();
    const file = join(t.dir, 'stacklab.db');
    const store = await Store.open(file, { walLimitBytes: 1024 * 1024 });
    try {
      const id = await insertJob(store.db, {
        account: 'a', suite: 's', testbox: 'dc', tbox_type: 'dc', arch: 'x', os: 'o', os_version: '1', memory_minimum: 1, priority: 0,
        runtime: 1, stage: 'submit', deps_pending: 0, submit_time: 0, result_root: '/r', spec: { suite: 's' } as ResolvedJob,
      });
      const detail = 'x'.repeat(100_000);
      // 200 transactions of 100 KB each, back to back: 20 MB through the WAL.
      for (let i = 0; i < 200; i++) await store.tx((tx) => addEvents(tx.db, id, i, [{ kind: 'fill', detail }]));
      let size = Infinity;
      for (let i = 0; i < 30 && size > 1024 * 1024; i++) {
        await new Promise((r) => setTimeout(r, 200));
        size = statSync(`${file}-wal`).size;
      }
      assert.ok(size <= 1024 * 1024, `the WAL is ${size} bytes`);
    } finally {
      await store.close();
      t.cleanup();
    }
  });
});
