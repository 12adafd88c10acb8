// Issue 2's promises, end to end with real processes on loopback: a
// `stacklab server` and `stacklab testbox` processes, a lab made here, jobs
// submitted with the CLI. Jobs succeed with their stats, a failing suite
// finishes failed, an overrun finishes timeout, a killed testbox's job
// finishes abnormal, and a malformed job file is refused whole.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/tmp.ts';
import { makeLab } from '../support/lab.ts';
import { runCli, startServer, startTestbox, type Proc } from '../support/procs.ts';
import { ApiClient } from '../../src/api/client.ts';
import type { Job } from '../../src/api/contract.ts';

const suites = {
  // Squares its parameter and leaves a file of its own in the result root.
  square: {
    run: `#!/bin/sh
echo "n: $n"
echo "square: $((n * n))"
echo "a line that is not a stat"
echo "hello from $STACKLAB_JOB_ID" > "$RESULT_ROOT/greeting.txt"
`,
  },
  fails: { run: '#!/bin/sh\necho "about to fail"\nexit 1\n' },
  sleeper: { run: '#!/bin/sh\necho "sleeping $secs"\nsleep "$secs"\necho done\n' },
};

describe('plain jobs end to end', () => {
  const t = tempDir();
  let server: Proc & { url: string };
  const boxes: Proc[] = [];
  let api: ApiClient;
  const cli = (args: string[]) => runCli(args, { STACKLAB_SERVER: server.url });

  before(async () => {
    const lab = makeLab(join(t.dir, 'lab'), { suites });
    server = await startServer({ data: join(t.dir, 'data'), lab });
    api = new ApiClient(server.url);
    for (const name of ['box-1', 'box-2']) boxes.push(await startTestbox({ server: server.url, hostname: name, workdir: join(t.dir, name) }));
  });

  after(async () => {
    for (const b of boxes) await b.kill();
    await server.kill();
    t.cleanup();
  });

  test('a matrix job of 3 runs on two testboxes and every job succeeds with its stats', async () => {
    const file = join(t.dir, 'square.yaml');
    writeFileSync(file, 'suite: square\ntestbox: dc\nruntime: 60\nsquare:\n  n: [2, 3, 4]\n');
    const submitted = await cli(['submit', file, '--json']);
    assert.equal(submitted.code, 0, submitted.stderr);
    const ids = (JSON.parse(submitted.stdout) as { job_id: number; result_root: string }[]).map((r) => r.job_id);
    assert.equal(ids.length, 3);
    const jobs: Job[] = [];
    for (const id of ids) {
      const waited = await cli(['job', 'wait', String(id), '--timeout', '60', '--json']);
      assert.equal(waited.code, 0, waited.stderr + waited.stdout);
      jobs.push(JSON.parse(waited.stdout) as Job);
    }
    const byN = new Map(jobs.map((j) => [Number((j.square as { n: number }).n), j]));
    for (const n of [2, 3, 4]) {
      const j = byN.get(n)!;
      assert.equal(j.job_stage, 'finish');
      assert.equal(j.job_health, 'success');
      assert.deepEqual(j.stats, { 'square.n': n, 'square.square': n * n });
      // stats.json, output and the suite's own file are in the result root, served over HTTP.
      const stats = await api.get<Record<string, number>>(`${j.result_root}/stats.json`);
      assert.deepEqual(JSON.parse(typeof stats === 'string' ? stats : JSON.stringify(stats)), { 'square.n': n, 'square.square': n * n });
      assert.match(await api.get<string>(`${j.result_root}/output`), new RegExp(`square: ${n * n}`));
      assert.equal((await api.get<string>(`${j.result_root}/greeting.txt`)).trim(), `hello from ${j.id}`);
      assert.match(await api.get<string>(`${j.result_root}/job.yaml`), /suite: square/);
      const events = (j.timeline ?? []).map((e) => e.event);
      assert.deepEqual(events, ['submit', 'boot', 'running', 'post_run', 'finish']);
    }
    // The work was spread over both testboxes? Not guaranteed with 3 jobs; each job ran on a registered one.
    for (const j of jobs) assert.ok(['box-1', 'box-2'].includes(j.testbox_host!), String(j.testbox_host));
  });

  test('a suite that exits 1 finishes failed', async () => {
    const file = join(t.dir, 'fails.yaml');
    writeFileSync(file, 'suite: fails\n');
    const r = await cli(['submit', file, '-m', '--timeout', '60']);
    assert.equal(r.code, 1, 'submit -m exits 1 when a job did not succeed');
    assert.match(r.stdout, /job \d+ {2}fails {2}finish\/failed/);
    const id = Number(/job id=(\d+)/.exec(r.stdout)![1]);
    const j = await api.get<Job>(`/api/jobs/${id}`);
    assert.equal(j.job_health, 'failed');
    assert.match(await api.get<string>(`${j.result_root}/output`), /about to fail/);
  });

  test('a job that overruns its runtime finishes timeout', async () => {
    const file = join(t.dir, 'sleeper.yaml');
    writeFileSync(file, 'suite: sleeper\nruntime: 1\nsleeper:\n  secs: 30\n');
    const r = await cli(['submit', file, '--json']);
    const { job_id } = (JSON.parse(r.stdout) as { job_id: number }[])[0]!;
    const started = Date.now();
    const w = await cli(['job', 'wait', String(job_id), '--timeout', '30', '--json']);
    assert.equal(w.code, 1);
    const j = JSON.parse(w.stdout) as Job;
    assert.equal(j.job_health, 'timeout');
    assert.ok(Date.now() - started < 20_000, 'killed long before the suite would have ended');
    assert.match(await api.get<string>(`${j.result_root}/output`), /killed after runtime 1 s/);
  });

  test('a malformed job file exits 2 with file:line:col and submits nothing', async () => {
    const before = (await api.get<Job[]>('/api/jobs', { limit: 1000 })).length;
    const file = join(t.dir, 'bad.yaml');
    writeFileSync(file, 'suite: square\nruntime: soon\nsquare:\n  n: [1, 2]\n');
    const r = await cli(['submit', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:10 runtime: `));
    // A file whose jobs are valid to the parser but one is refused by the server: nothing of it lands either.
    const mixed = join(t.dir, 'mixed.yaml');
    // Document 0 is a job of its own (lkp's rule); document 1 is merged over it.
    writeFileSync(mixed, 'suite: square\nruntime: 60\nsquare:\n  n: 1\n---\nsuite: no-such-suite\n');
    const m = await cli(['submit', mixed]);
    assert.equal(m.code, 2);
    assert.match(m.stderr, /mixed\.yaml:6:8 suite: no suite no-such-suite/);
    assert.equal((await api.get<Job[]>('/api/jobs', { limit: 1000 })).length, before);
  });

  test('a job whose testbox is killed finishes abnormal after its deadline; the restarted agent reaps the orphaned suite', async () => {
    // A testbox of its own arch, so the job can only go there.
    const victim = await startTestbox({ server: server.url, hostname: 'victim', workdir: join(t.dir, 'victim'), extra: ['--arch', 'victimarch'] });
    const file = join(t.dir, 'victim.yaml');
    writeFileSync(file, 'suite: sleeper\nos_arch: victimarch\nruntime: 60\nsleeper:\n  secs: 60\n');
    const r = await cli(['submit', file, '--json']);
    const { job_id } = (JSON.parse(r.stdout) as { job_id: number }[])[0]!;
    // Wait until it runs there.
    for (let i = 0; i < 100; i++) {
      const j = await api.get<Job>(`/api/jobs/${job_id}`);
      if (j.job_stage === 'running') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.equal((await api.get<Job>(`/api/jobs/${job_id}`)).job_stage, 'running');
    // The suite's pid, to see it outlive its agent. (An empty or half-written pid file must never become kill(0), which would kill this test's own group.)
    const pidFile = join(t.dir, 'victim', 'jobs', String(job_id), 'pid');
    let suitePid = 0;
    for (let i = 0; i < 100 && suitePid <= 1; i++) {
      suitePid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) || 0 : 0;
      if (suitePid <= 1) await new Promise((res) => setTimeout(res, 50));
    }
    assert.ok(suitePid > 1, 'the suite is running');
    await victim.kill('SIGKILL');
    const alive = () => {
      try {
        process.kill(-suitePid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      const w = await cli(['job', 'wait', String(job_id), '--timeout', '30', '--json']);
      const j = JSON.parse(w.stdout) as Job;
      assert.equal(j.job_health, 'abnormal');
      const last = j.timeline!.at(-1)!;
      assert.equal(last.event, 'finish');
      assert.match(String(last.reason), /testbox victim silent/);
      // The suite outlived its SIGKILLed agent; the agent restarted on the same workdir reaps it.
      assert.ok(alive(), 'the orphaned suite still runs before the agent comes back');
      const again = await startTestbox({ server: server.url, hostname: 'victim', workdir: join(t.dir, 'victim'), extra: ['--arch', 'victimarch'] });
      try {
        for (let i = 0; i < 100 && alive(); i++) await new Promise((res) => setTimeout(res, 50));
        assert.ok(!alive(), 'the restarted agent killed the orphaned suite');
      } finally {
        await again.kill();
      }
    } finally {
      if (suitePid > 1 && alive()) process.kill(-suitePid, 'SIGKILL');
    }
  });

  test('the dashboard at / shows the jobs, their health and pages of their own, with user strings escaped', async () => {
    const file = join(t.dir, 'labelled.yaml');
    writeFileSync(file, 'suite: square\nlabels:\n  note: "<img src=x onerror=alert(1)>"\nsquare:\n  n: 7\n');
    const r = await cli(['submit', file, '--json']);
    const { job_id } = (JSON.parse(r.stdout) as { job_id: number }[])[0]!;
    assert.equal((await cli(['job', 'wait', String(job_id), '--timeout', '60'])).code, 0);

    const front = await fetch(`${server.url}/`);
    assert.equal(front.status, 200);
    assert.match(front.headers.get('content-type')!, /text\/html/);
    const html = await front.text();
    for (const name of ['box-1', 'box-2']) assert.match(html, new RegExp(`<td>${name}</td>`), `testbox ${name} listed`);
    // Every job of this server, each row with its suite and health, linking to its page.
    const jobs = await api.get<Job[]>('/api/jobs', { limit: 50 });
    for (const j of jobs) {
      const row = new RegExp(`<a href="/ui/jobs/${j.id}">${j.id}</a>.*?</tr>`, 's').exec(html)?.[0];
      assert.ok(row, `job ${j.id} listed`);
      assert.match(row, new RegExp(`>${j.suite}<`));
      if (j.job_health) assert.match(row, new RegExp(`class="${j.job_health}"`));
    }
    // A filter narrows the list as the API's does.
    const failedOnly = await (await fetch(`${server.url}/?health=failed`)).text();
    const failedIds = jobs.filter((j) => j.job_health === 'failed').map((j) => j.id);
    assert.ok(failedIds.length > 0);
    for (const j of jobs) assert.equal(failedOnly.includes(`href="/ui/jobs/${j.id}"`), failedIds.includes(j.id), `job ${j.id} in the failed view`);

    const page = await (await fetch(`${server.url}/ui/jobs/${job_id}`)).text();
    assert.match(page, /square\.square<\/td><td>49</);
    assert.match(page, />finish</);
    assert.ok(!page.includes('<img src=x'), 'a label is never markup');
    assert.ok(page.includes('&#60;img src=x onerror=alert(1)&#62;'));
    assert.equal((await fetch(`${server.url}/ui/jobs/999999`)).status, 404);
  });
});
