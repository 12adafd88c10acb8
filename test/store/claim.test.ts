// The claim in SQL against the reference rules of model/match.ts, on both
// dialects: for random mixes of jobs, accounts, priorities, memory and
// testboxes (some jobs pinned to one box, one of them to a box that is not
// there, some of them health checks) and a box out of dispatch for a while,
// every claim returns exactly the job pickJob would.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { dialects } from '../support/db.ts';
import { makeScheduler, type TestScheduler } from '../support/scheduler.ts';
import { claimFor } from '../../src/scheduler/dispatch.ts';
import { insertJob } from '../../src/store/jobs.ts';
import { ensureAccount, getTestbox, registerTestbox } from '../../src/store/testboxes.ts';
import { pickJob, type JobView } from '../../src/model/match.ts';
import { ACTIVE_STAGES, isActive } from '../../src/model/lifecycle.ts';
import { BOX_LOCK } from '../../src/store/claim.ts';
import { sql } from 'kysely';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedJob } from '../../src/model/job.ts';

/** A small seeded PRNG (mulberry32): the same seed, the same jobs. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

for (const dialect of await dialects()) {
  describe(`claim (${dialect})`, () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      test(`matches the reference rules, seed ${seed}`, async () => {
        const t = await makeScheduler(dialect);
        try {
          const r = rng(seed);
          const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
          const db = t.store.db;
          const boxes = [
            { hostname: 'dc-a', type: 'dc', arch: 'x86_64', max_memory: 8, cpus: 4 },
            { hostname: 'dc-b', type: 'dc', arch: 'x86_64', max_memory: 3, cpus: 2 },
            { hostname: 'vm-a', type: 'vm', arch: 'aarch64', max_memory: 16, cpus: 8 },
          ];
          for (const b of boxes) await registerTestbox(db, b, t.clock.now);
          const jobs: (JobView & { stage: string; assigned: string | null; deps_pending: number })[] = [];
          for (let i = 0; i < 60; i++) {
            const account = pick(['alice', 'bob', 'carol']);
            const tbox_type = pick(['dc', 'dc', 'vm']);
            const arch = tbox_type === 'vm' ? pick(['aarch64', 'x86_64']) : 'x86_64';
            const memory_minimum = pick([0.5, 1, 2, 4, 12]);
            const priority = pick([0, 0, 0, 1, 5]);
            const deps_pending = r() < 0.15 ? 1 : 0;
            const pinned_host = r() < 0.25 ? pick(tbox_type === 'vm' ? ['vm-a', 'dc-a'] : ['dc-a', 'dc-b', 'dc-gone']) : null;
            const health_check = pinned_host !== null && r() < 0.5;
            await ensureAccount(db, account);
            const id = await insertJob(db, {
              account, suite: 'echo', testbox: tbox_type, tbox_type, arch, os: 'debian', os_version: '12', memory_minimum, priority,
              runtime: 60, stage: 'submit', deps_pending, submit_time: t.clock.now, result_root: `/r/${i}`, spec: { suite: 'echo' } as ResolvedJob, pinned_host,
              health_check: health_check ? 1 : 0,
            });
            jobs.push({ id, account, tbox_type, arch, memory_minimum, priority, pinned_host, health_check, stage: 'submit', assigned: null, deps_pending });
          }
          // dc-a is out of dispatch for the first half: it takes only the health checks pinned to it
          await db.updateTable('testboxes').set({ disabled_reason: 'test', disabled_at: t.clock.now }).where('hostname', '=', 'dc-a').execute();
          let claims = 0;
          const whileDisabled: number[] = [];
          for (let round = 0; round < 80; round++) {
            if (round === 40) await db.updateTable('testboxes').set({ disabled_reason: null, disabled_at: null }).where('hostname', '=', 'dc-a').execute();
            const b = pick(boxes);
            const box = (await getTestbox(db, b.hostname))!;
            const used = jobs.filter((j) => j.assigned === b.hostname && isActive(j.stage)).reduce((s, j) => s + j.memory_minimum, 0);
            const active = new Map<string, number>();
            for (const j of jobs) if (isActive(j.stage)) active.set(j.account, (active.get(j.account) ?? 0) + 1);
            const dispatchable = jobs.filter((j) => j.stage === 'submit' && j.deps_pending === 0);
            const want = used >= box.max_memory ? undefined : pickJob(dispatchable, { hostname: box.hostname, type: box.type, arch: box.arch, freeMemory: box.max_memory - used, disabled: box.disabled_reason != null }, active);
            const got = await claimFor(t.scheduler.ctx, box);
            assert.equal(got?.id, want?.id, `round ${round}: box ${b.hostname}`);
            if (got) {
              claims++;
              const j = jobs.find((x) => x.id === got.id)!;
              j.stage = 'boot';
              j.assigned = b.hostname;
              if (box.disabled_reason != null) whileDisabled.push(j.id);
              assert.equal(got.stage, 'boot');
              assert.equal(got.assigned, b.hostname);
            }
            // Now and then a running job finishes and frees its box.
            const running = jobs.filter((j) => j.stage === 'boot');
            if (running.length > 0 && r() < 0.5) {
              const done = pick(running);
              done.stage = 'finish';
              await db.updateTable('jobs').set({ stage: 'finish', health: 'success' }).where('id', '=', done.id).execute();
            }
          }
          assert.ok(claims > 10, `only ${claims} claims happened; the test exercised too little`);
          const pinnedClaims = jobs.filter((j) => j.pinned_host && j.assigned);
          assert.ok(pinnedClaims.length > 0, 'some pinned job was claimed');
          for (const j of pinnedClaims) assert.equal(j.assigned, j.pinned_host, `job ${j.id} went to its pinned box`);
          assert.ok(jobs.every((j) => j.pinned_host !== 'dc-gone' || j.stage === 'submit'), 'a job pinned to an absent box waits');
          for (const id of whileDisabled) assert.ok(jobs.find((j) => j.id === id)!.health_check, `job ${id} went to a box out of dispatch and is no health check`);
        } finally {
          await t.cleanup();
        }
      });
    }

    if (dialect === 'postgres') {
      test('the claim function holds the same stages and box lock as the TypeScript it mirrors', async () => {
        const t = await makeScheduler(dialect);
        try {
          const { rows } = await sql<{ def: string }>`SELECT pg_get_functiondef('stacklab_claim'::regproc) AS def`.execute(t.store.db);
          const def = rows[0]!.def;
          const lists = [...def.matchAll(/stage IN \(([^)]*)\)/g)].map((m) => m[1]!.split(',').map((x) => x.trim().replace(/^'|'$/g, '')));
          assert.ok(lists.length >= 2, 'the function counts active stages twice (memory, fairness)');
          for (const list of lists) assert.deepEqual(list, [...ACTIVE_STAGES]);
          assert.match(def, new RegExp(`pg_advisory_xact_lock\\(${BOX_LOCK},`));
        } finally {
          await t.cleanup();
        }
      });
    }

    /** One dc box and one job for alice on it, `deps_pending` builds away; the job's id. */
    async function oneJob(t: TestScheduler, deps_pending: number, result_root: string): Promise<number> {
      const db = t.store.db;
      await registerTestbox(db, { hostname: 'dc-a', type: 'dc', arch: 'x86_64', max_memory: 8, cpus: 1 }, t.clock.now);
      await ensureAccount(db, 'alice');
      return insertJob(db, {
        account: 'alice', suite: 'echo', testbox: 'dc', tbox_type: 'dc', arch: 'x86_64', os: 'debian', os_version: '12', memory_minimum: 1, priority: 0,
        runtime: 60, stage: 'submit', deps_pending, submit_time: t.clock.now, result_root, spec: { suite: 'echo' } as ResolvedJob,
      });
    }

    test("a claimed job's job.yaml, written off the claim's path, is on disk once the scheduler has stopped", async () => {
      const t = await makeScheduler(dialect);
      try {
        const id = await oneJob(t, 0, '/r/1');
        assert.equal((await claimFor(t.scheduler.ctx, (await getTestbox(t.store.db, 'dc-a'))!))?.id, id);
        await t.scheduler.stop();
        // nothing of it is left in flight to write into a directory being removed (a test's cleanup, a server's data)
        const yaml = readFileSync(join(t.config.srvDir, 'r/1/job.yaml'), 'utf8');
        assert.match(yaml, new RegExp(`^id: ${id}$`, 'm'));
      } finally {
        await t.cleanup();
      }
    });

    test('a job waiting on builds is never claimed', async () => {
      const t = await makeScheduler(dialect);
      try {
        await oneJob(t, 2, '/r');
        assert.equal(await claimFor(t.scheduler.ctx, (await getTestbox(t.store.db, 'dc-a'))!), undefined);
      } finally {
        await t.cleanup();
      }
    });
  });
}
