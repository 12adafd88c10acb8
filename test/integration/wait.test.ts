// Day to day in the lab (issue 13), with real `stacklab` processes on
// loopback: a job no testbox can take says why and ends unrunnable at the
// lab's queue_timeout; a second server on one SQLite file is refused (and a
// dead server's lock is taken over); `stacklab up` stopped with Ctrl-C and
// started again on its data directory dispatches at once and retries the
// build it interrupted; a testbox that keeps losing its jobs leaves
// dispatch until `stacklab testbox enable`.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/tmp.ts';
import { BIN, runCli, startServer, startTestbox, type Proc } from '../support/procs.ts';
import { makeSsLab } from '../support/ss-lab.ts';
import { FAST_POLICY, makeLab, type LabDef } from '../support/lab.ts';
import { finished, waitFor } from '../support/wait.ts';
import { ApiClient } from '../../src/api/client.ts';
import type { Job, Testbox } from '../../src/api/contract.ts';

const SUITES = {
  sleeper: { run: '#!/bin/sh\nsleep "${seconds:-30}"\necho "slept: 1"\n' },
  quick: { run: '#!/bin/sh\necho "ran: 1"\n' },
  broken: { run: '#!/bin/sh\necho "the box is not well" >&2\nexit 1\n' },
};

describe('a job no testbox can take', () => {
  const t = tempDir();
  let server: Proc & { url: string };
  let box: Proc;
  let api: ApiClient;

  before(async () => {
    const lab = makeLab(join(t.dir, 'lab'), { policy: { ...FAST_POLICY, queue_timeout: 15 }, suites: SUITES });
    server = await startServer({ data: join(t.dir, 'data'), lab });
    box = await startTestbox({ server: server.url, hostname: 'box-a', workdir: join(t.dir, 'box-a'), mem: 8 });
    api = new ApiClient(server.url);
  });
  after(async () => {
    await box?.kill();
    await server?.kill();
    t.cleanup();
  });

  test('submit warns and exits 0, job show says why, and at queue_timeout it finishes unrunnable', async () => {
    const file = join(t.dir, 'vm.yaml');
    writeFileSync(file, 'suite: quick\ntestbox: vm-2p8g\n');
    const sub = await runCli(['submit', file, '--server', server.url]);
    assert.equal(sub.code, 0, sub.stderr);
    assert.match(sub.stderr, /warning: job \d+: no registered testbox can take it: testbox vm-2p8g needs a vm box of arch \S+ with 1 GiB; registered: dc\/\S+ 8 GiB/);
    const vm = Number(/job id=(\d+)/.exec(sub.stdout)![1]);

    const big = await runCli(['submit', join(t.dir, 'vm.yaml'), 'testbox=dc', 'memory_minimum=64', '--server', server.url, '--json']);
    assert.equal(big.code, 0, big.stderr);
    const [bigJob] = JSON.parse(big.stdout) as { job_id: number; warning?: string }[];
    assert.match(bigJob!.warning ?? '', /needs a dc box of arch \S+ with 64 GiB/);

    const show = await runCli(['job', 'show', String(vm), '--server', server.url]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /waiting\s+no_testbox: no registered testbox can take it: testbox vm-2p8g.*finishes unrunnable at/);
    const shown = JSON.parse((await runCli(['job', 'show', String(bigJob!.job_id), '--server', server.url, '--json'])).stdout) as Job;
    assert.equal(shown.wait_reason?.kind, 'no_testbox');

    // The box that exists keeps working meanwhile.
    const [ok] = await api.post<{ job_id: number }[]>('/api/jobs', { suite: 'quick' });
    assert.equal((await finished(api, ok!.job_id, 30_000)).job_health, 'success');

    // submit -m says why while it waits, and how it ended.
    const mon = await runCli(['submit', file, '-m', '--timeout', '30', '--server', server.url]);
    assert.equal(mon.code, 1, mon.stderr);
    assert.match(mon.stdout, /job \d+ {2}waiting {2}no_testbox: no registered testbox can take it/);
    assert.match(mon.stdout, /finish {2}health=unrunnable reason="?no registered testbox can take it/);
    assert.match(mon.stdout, /job \d+ {2}quick {2}finish\/unrunnable/);

    const wait = await runCli(['job', 'wait', String(vm), '--timeout', '30', '--server', server.url]);
    assert.equal(wait.code, 1, 'an unrunnable job is not a success');
    for (const id of [vm, bigJob!.job_id]) {
      const j = await finished(api, id, 30_000);
      assert.equal(j.job_health, 'unrunnable');
      const fin = j.timeline!.find((e) => e.event === 'finish')!;
      assert.match(String(fin.reason), /no registered testbox can take it.*queue_timeout 15 s/);
    }
  });
});

describe('one server per SQLite file', () => {
  const t = tempDir();
  let first: Proc & { url: string };
  after(async () => {
    await first?.kill();
    t.cleanup();
  });

  test('a second server on the same data directory is refused, naming the first one; a dead server\'s lock is taken over', async () => {
    const lab = makeLab(join(t.dir, 'lab'), { suites: SUITES });
    const data = join(t.dir, 'data');
    first = await startServer({ data, lab });
    const second = await runCli(['server', '--data', data, '--lab', lab, '--port', '0']);
    assert.equal(second.code, 2, second.stderr);
    const db = join(data, 'stacklab.db');
    assert.ok(second.stderr.includes(`another stacklab server (pid ${first.child.pid}) is using ${db} (lock file ${db}.lock)`), second.stderr);
    // The admin commands still open the file beside it.
    assert.equal((await runCli(['secret', 'issue', 'lab-1', '--data', data])).code, 0);
    assert.equal((await new ApiClient(first.url).get<{ ok: boolean }>('/api/health')).ok, true, 'the first server is untouched');

    // A server killed outright leaves its lock; the next one sees its pid is dead and starts.
    await first.kill('SIGKILL');
    assert.ok(existsSync(`${db}.lock`));
    first = await startServer({ data, lab });
    assert.equal(readFileSync(`${db}.lock`, 'utf8').trim(), String(first.child.pid));
    // A clean stop removes it.
    await first.kill('SIGTERM');
    assert.equal(existsSync(`${db}.lock`), false, `exit ${first.child.exitCode} ${first.child.signalCode}: ${first.output()}`);
  });
});

/** `stacklab up` in a process group of its own, as a terminal runs it, so Ctrl-C reaches it and everything it started. */
function startUp(args: string[]): Proc {
  const child = spawn(process.execPath, [BIN, 'up', ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let text = '';
  child.stdout.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  return {
    child,
    output: () => text,
    async kill(signal = 'SIGINT') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      process.kill(-child.pid!, signal);
      await exited;
    },
  };
}

/** up's --json announcement: the pretty-printed object among its JSON log lines. */
async function announced(proc: Proc): Promise<{ url: string; testboxes: string[] }> {
  return waitFor('up to announce itself', async () => {
    const m = /^\{\n[\s\S]*?^\}$/m.exec(proc.output());
    if (proc.child.exitCode !== null) throw new Error(`up exited ${proc.child.exitCode}:\n${proc.output()}`);
    return m ? (JSON.parse(m[0]) as { url: string; testboxes: string[] }) : undefined;
  }, 30_000);
}

describe('stacklab up, stopped with Ctrl-C and started again', () => {
  const t = tempDir();
  let up: Proc | undefined;
  after(async () => {
    await up?.kill('SIGKILL');
    t.cleanup();
  });

  test('the restarted testboxes end what their previous incarnation held, the build is retried and everything dispatches at once', async () => {
    const ss = makeSsLab(t.dir);
    const marker = join(t.dir, 'first-build-started');
    // The first build hangs (a perf bisect's probe mid-build when Ctrl-C comes); its retry is quick.
    writeFileSync(
      join(ss.lab, 'recipes', 'hello', 'PKGBUILD'),
      readFileSync(join(ss.lab, 'recipes', 'hello', 'PKGBUILD'), 'utf8').replace('  cd "$srcdir/$pkgname"\n', '  cd "$srcdir/$pkgname"\n  if [ ! -e "$marker" ]; then : > "$marker"; sleep 120; fi\n'),
    );
    makeLab(ss.lab, { policy: { ...FAST_POLICY, build_testbox: 'dc', allow_local_upstreams: true }, suites: SUITES });
    const args = ['--data', join(t.dir, 'data'), '--lab', ss.lab, '--port', '0', '--testboxes', '2', '--json', '--log-level', 'warn'];
    up = startUp(args);
    const first = await announced(up);
    let api = new ApiClient(first.url);

    const [probe] = await api.post<{ job_id: number }[]>('/api/jobs', { suite: 'use-hello', ss: { hello: { commit: 'v2', marker } } });
    const [sleeper] = await api.post<{ job_id: number }[]>('/api/jobs', { suite: 'sleeper', seconds: 120 });
    const pkgbuild = await waitFor('the build to start', async () => {
      const j = await api.get<Job>(`/api/jobs/${probe!.job_id}`);
      const d = j.deps[0];
      return existsSync(marker) && d?.pkgbuild_job != null && d.build_state === 'building' ? d.pkgbuild_job : undefined;
    });
    await waitFor('the sleeper to run', async () => (await api.get<Job>(`/api/jobs/${sleeper!.job_id}`)).job_stage === 'running');

    await up.kill('SIGINT');
    assert.equal(up.child.exitCode ?? 0, 0, up.output());

    up = startUp(args);
    const again = await announced(up);
    const restarted = Date.now();
    assert.deepEqual(again.testboxes, first.testboxes, 'the same testbox names');
    api = new ApiClient(again.url);

    // By the time `up` says it is up, no box holds its previous incarnation's jobs (it may hold new ones: the retry).
    const boxes = await api.get<Testbox[]>('/api/testboxes');
    for (const b of boxes) {
      assert.ok(!b.jobs.includes(sleeper!.job_id) && !b.jobs.includes(pkgbuild), `${b.hostname} still holds ${b.jobs.join(', ')}`);
      assert.equal(b.infra_failures, 0, 'a restart is not the box\'s failure');
    }
    const old = await api.get<Job>(`/api/jobs/${sleeper!.job_id}`);
    assert.equal(old.job_health, 'abnormal');
    assert.match(String(old.timeline!.find((e) => e.event === 'finish')!.reason), /registered again: its previous incarnation is gone/);
    const oldBuild = await api.get<Job>(`/api/jobs/${pkgbuild}`);
    assert.equal(oldBuild.job_health, 'abnormal');

    // The build is retried at once (a new pkgbuild job, dispatched within a heartbeat or so), and the probe runs.
    const retry = await waitFor('the retried build to be dispatched', async () => {
      const j = await api.get<Job>(`/api/jobs/${probe!.job_id}`);
      const id = j.deps[0]?.pkgbuild_job;
      if (id == null || id === pkgbuild) return undefined;
      const r = await api.get<Job>(`/api/jobs/${id}`);
      return r.job_stage !== 'submit' ? r : undefined;
    }, 10_000, 20);
    assert.ok(Date.now() - restarted < 3000, `the retry waited ${Date.now() - restarted} ms for a testbox`);
    assert.ok(retry.boot_time);
    const done = await finished(api, probe!.job_id, 60_000);
    assert.equal(done.job_health, 'success', JSON.stringify(done.timeline));
    assert.ok(done.timeline!.some((e) => e.event === 'build_retry'));
    await up.kill('SIGINT');
    up = undefined;
  });
});

/** A server on a lab of its own (made from `def` in a temporary directory) with one dc testbox `host`, started before the suite's tests and stopped after. */
function oneBoxLab(host: string, def: (dir: string) => LabDef): { server: Proc & { url: string }; box: Proc; api: ApiClient; dir: string } {
  const t = tempDir();
  const lab = { dir: t.dir } as { server: Proc & { url: string }; box: Proc; api: ApiClient; dir: string };
  before(async () => {
    lab.server = await startServer({ data: join(t.dir, 'data'), lab: makeLab(join(t.dir, 'lab'), def(t.dir)) });
    lab.box = await startTestbox({ server: lab.server.url, hostname: host, workdir: join(t.dir, host), mem: 8 });
    lab.api = new ApiClient(lab.server.url);
  });
  after(async () => {
    lab.box?.child.kill('SIGCONT');
    await lab.box?.kill('SIGKILL');
    await lab.server?.kill();
    t.cleanup();
  });
  return lab;
}

/** The box goes silent while it runs a job (a hung machine): the sweeper ends the job abnormal, one infrastructure failure of the box. */
async function loseAJob(api: ApiClient, box: Proc, host: string): Promise<void> {
  const [r] = await api.post<{ job_id: number }[]>('/api/jobs', { suite: 'sleeper', seconds: 60 });
  await waitFor('the job to run', async () => (await api.get<Job>(`/api/jobs/${r!.job_id}`)).job_stage === 'running', 60_000).catch(async (err: unknown) => {
    throw new Error(`${String(err)}: ${JSON.stringify(await api.get<Job>(`/api/jobs/${r!.job_id}`))}\n${box.output()}`);
  });
  box.child.kill('SIGSTOP');
  const j = await finished(api, r!.job_id, 20_000);
  box.child.kill('SIGCONT');
  assert.equal(j.job_health, 'abnormal');
  assert.match(String(j.timeline!.find((e) => e.event === 'finish')!.reason), new RegExp(`testbox ${host} silent`));
}

describe('a testbox that keeps losing its jobs', () => {
  const lab = oneBoxLab('box-a', () => ({ policy: { ...FAST_POLICY, testbox_max_infra_failures: 2 }, suites: SUITES }));
  let server: Proc & { url: string };
  let api: ApiClient;
  before(() => {
    ({ server, api } = lab);
  });

  /** Two jobs in a row lost by the box: it leaves dispatch. */
  async function loseTwoJobs(): Promise<void> {
    for (let i = 1; i <= 2; i++) await loseAJob(api, lab.box, 'box-a');
  }

  const boxA = async (): Promise<Testbox> => (await api.get<Testbox[]>('/api/testboxes')).find((x) => x.hostname === 'box-a')!;

  test('leaves dispatch after N infrastructure failures in a row; testbox enable brings it back', async () => {
    await loseTwoJobs();
    const list = await runCli(['testboxes', '--server', server.url]);
    assert.match(list.stdout, /box-a\s+dc\s+\S+\s+8G\s+\d+\s+disabled/);
    assert.match(list.stdout, /box-a: out of dispatch: 2 infrastructure failures in a row .*stacklab testbox enable box-a/);

    const [quick] = await api.post<{ job_id: number }[]>('/api/jobs', { suite: 'quick' });
    await waitFor('box-a to be heard again', async () => {
      const b = (await api.get<Testbox[]>('/api/testboxes')).find((x) => x.hostname === 'box-a')!;
      return Date.now() - Date.parse(b.last_heartbeat) < 1000;
    });
    await new Promise((r) => setTimeout(r, 1500));
    const waiting = await api.get<Job>(`/api/jobs/${quick!.job_id}`);
    assert.equal(waiting.job_stage, 'submit', 'a disabled box takes no job');
    assert.equal(waiting.wait_reason?.kind, 'unhealthy');

    const enable = await runCli(['testbox', 'enable', 'box-a', '--server', server.url]);
    assert.equal(enable.code, 0, enable.stderr);
    assert.match(enable.stdout, /testbox box-a is back in dispatch/);
    // Within a long-poll (30 s) even if the wake-up was missed under load; normally at once.
    assert.equal((await finished(api, quick!.job_id, 60_000)).job_health, 'success');
    const missing = await runCli(['testbox', 'enable', 'no-such-box', '--server', server.url]);
    assert.notEqual(missing.code, 0);
  });

  test('out of dispatch, the box takes only its health check; a passing one brings it back, a failing one does not', async () => {
    await loseTwoJobs();
    assert.equal((await boxA()).state, 'disabled');
    const [queued] = await api.post<{ job_id: number }[]>('/api/jobs', { suite: 'quick' });
    const broken = join(lab.dir, 'broken.yaml');
    const quick = join(lab.dir, 'check.yaml');
    writeFileSync(broken, 'suite: broken\n');
    writeFileSync(quick, 'suite: quick\n');

    const bad = await runCli(['testbox', 'health-check', 'box-a', broken, '--server', server.url, '--json']);
    assert.equal(bad.code, 0, bad.stderr);
    const badJob = await finished(api, (JSON.parse(bad.stdout) as { job_id: number }).job_id, 60_000);
    assert.equal(badJob.testbox_host, 'box-a', 'the health check ran on the box out of dispatch');
    assert.equal(badJob.job_health, 'failed');
    assert.equal((await boxA()).state, 'disabled', 'a failing health check leaves the box out');
    assert.equal((await api.get<Job>(`/api/jobs/${queued!.job_id}`)).job_stage, 'submit', 'an ordinary job still waits');

    const good = await runCli(['testbox', 'health-check', 'box-a', quick, '--server', server.url]);
    assert.equal(good.code, 0, good.stderr);
    const id = Number(/health check job (\d+) submitted for testbox box-a/.exec(good.stdout)?.[1]);
    assert.ok(id > 0, good.stdout);
    const check = await finished(api, id, 60_000);
    assert.equal(check.job_health, 'success');
    assert.ok(check.timeline!.some((e) => e.event === 'testbox_enabled'), JSON.stringify(check.timeline));
    const b = await boxA();
    assert.notEqual(b.state, 'disabled');
    assert.equal(b.infra_failures, 0);
    // back in dispatch: the job that waited runs (within a long-poll even if a wake-up was missed)
    assert.equal((await finished(api, queued!.job_id, 60_000)).job_health, 'success');

    const nobox = await runCli(['testbox', 'health-check', 'no-such-box', quick, '--server', server.url]);
    assert.notEqual(nobox.code, 0);
    assert.match(nobox.stderr, /no-such-box/);
    const two = join(lab.dir, 'two.yaml');
    writeFileSync(two, 'suite: quick\nx:\n- 1\n- 2\n');
    const many = await runCli(['testbox', 'health-check', 'box-a', two, '--server', server.url]);
    assert.equal(many.code, 2, many.stderr);
    assert.match(many.stderr, /a health check is one job/);
  });
});



describe("a lab with a health check of its own (lab.yaml health_check)", () => {
  const well = (dir: string): string => join(dir, 'box-is-well');
  const lab = oneBoxLab('box-h', (dir) => ({
    policy: { ...FAST_POLICY, testbox_max_infra_failures: 1, health_check: 'jobs/health.yaml' },
    // the check passes once the test says the box is well again
    suites: { ...SUITES, health: { run: '#!/bin/sh\nif [ -e "$ok" ]; then echo "well: 1"; else echo "not well" >&2; exit 1; fi\n' } },
    files: { 'jobs/health.yaml': `suite: health\nhealth:\n  ok: ${well(dir)}\n` },
  }));
  let server: Proc & { url: string };
  let api: ApiClient;
  before(() => {
    ({ server, api } = lab);
  });

  const boxH = async (): Promise<Testbox> => (await api.get<Testbox[]>('/api/testboxes')).find((x) => x.hostname === 'box-h')!;
  const checks = async (): Promise<Job[]> => (await api.get<Job[]>('/api/jobs', { suite: 'health' })).reverse();

  test('a box that leaves dispatch gets the lab’s check, once per time it leaves; passing, it is back', async () => {
    await loseAJob(api, lab.box, 'box-h');
    // the sweeper queues the check on the box, and the box runs it though it is out of dispatch
    const first = await waitFor('a health check queued', async () => (await checks())[0], 20_000);
    const failed = await finished(api, first.id, 60_000);
    assert.equal(failed.testbox_host, 'box-h');
    assert.equal(failed.job_health, 'failed');
    const asked = failed.timeline!.find((e) => e.event === 'health_check')!;
    assert.equal(asked.testbox, 'box-h');
    assert.match(String(asked.by), /lab\.yaml health_check: jobs\/health\.yaml/);
    assert.equal((await boxH()).state, 'disabled', 'a failing check leaves the box out');
    const [waiting] = await api.post<{ job_id: number }[]>('/api/jobs', { suite: 'quick' });
    // sweeps go on (every 0.2 s): no second check for the same time out
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await checks()).length, 1, 'one check per time the box left dispatch');
    assert.equal((await api.get<Job>(`/api/jobs/${waiting!.job_id}`)).job_stage, 'submit');

    // an admin brings it back; it leaves again: a new check, which passes now, and the box is back by itself
    assert.equal((await runCli(['testbox', 'enable', 'box-h', '--server', server.url])).code, 0);
    assert.equal((await finished(api, waiting!.job_id, 60_000)).job_health, 'success');
    writeFileSync(well(lab.dir), '');
    await loseAJob(api, lab.box, 'box-h');
    const second = await waitFor('a second health check', async () => (await checks())[1], 20_000);
    const passed = await finished(api, second.id, 60_000);
    assert.equal(passed.job_health, 'success');
    assert.ok(passed.timeline!.some((e) => e.event === 'testbox_enabled'), JSON.stringify(passed.timeline));
    assert.notEqual((await boxH()).state, 'disabled');
    const [after] = await api.post<{ job_id: number }[]>('/api/jobs', { suite: 'quick' });
    assert.equal((await finished(api, after!.job_id, 60_000)).job_health, 'success');
  });
});
