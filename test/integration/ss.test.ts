// The software stack end to end (issue 3): real server and testbox processes,
// real git upstreams, real builds with cc. Besides the promises, one
// test per way compass-ci's mechanism breaks (docs/COMPASS-CI.md),
// named after it.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../support/tmp.ts';
import { runCli, startServer, startTestbox, type Proc } from '../support/procs.ts';
import { makeSsLab, type SsLab } from '../support/ss-lab.ts';
import { finished, waitFor } from '../support/wait.ts';
import { ApiClient, ApiError } from '../../src/api/client.ts';
import type { Job } from '../../src/api/contract.ts';
import type { Build } from '../../src/api/contract.ts';

type Submitted = { job_id: number; result_root: string }[];

const helloJob = (ss: Record<string, string>, extra: Record<string, unknown> = {}) => ({
  suite: 'use-hello',
  testbox: 'dc',
  runtime: 60,
  ss: { hello: ss },
  ...extra,
});

async function submit(api: ApiClient, ...jobs: unknown[]): Promise<number[]> {
  return (await api.post<Submitted>('/api/jobs', jobs)).map((r) => r.job_id);
}

async function buildsOf(api: ApiClient, pkg: string): Promise<Build[]> {
  return api.get<Build[]>('/api/builds', { pkg, limit: 1000 });
}

describe('ss: builds, cache and release', () => {
  const t = tempDir();
  let lab: SsLab;
  let server: Proc & { url: string };
  const boxes: Proc[] = [];
  let api: ApiClient;

  before(async () => {
    lab = makeSsLab(t.dir);
    server = await startServer({ data: join(t.dir, 'data'), lab: lab.lab });
    api = new ApiClient(server.url);
    for (const name of ['box-1', 'box-2']) boxes.push(await startTestbox({ server: server.url, hostname: name, workdir: join(t.dir, name), extra: ['--slots', '2'] }));
  });

  after(async () => {
    for (const b of boxes) await b.kill();
    await server.kill();
    t.cleanup();
  });

  test('two configs of one commit build twice, and each job runs its own config’s build (COMPASS-CI #1: cache key misses the config)', async () => {
    const [loud, quiet] = await submit(api, helloJob({ commit: 'v2', config: 'loud' }), helloJob({ commit: 'v2', config: 'quiet' }));
    // While they wait, neither names an artifact it does not have yet.
    const waiting = await api.get<Job>(`/api/jobs/${loud}`);
    assert.equal(waiting.initrds.length, 1, 'only job.cgz before the build is done');
    const [jl, jq] = [await finished(api, loud!), await finished(api, quiet!)];
    assert.equal(jl.job_health, 'success');
    assert.equal(jq.job_health, 'success');
    assert.equal(jl.stats?.['use-hello.loud'], 1);
    assert.equal(jq.stats?.['use-hello.loud'], 0);
    assert.match(await api.get<string>(`${jl.result_root}/output`), /LOUD HELLO from v2/);
    assert.match(await api.get<string>(`${jq.result_root}/output`), /psst from v2/);
    assert.notEqual(jl.deps[0]!.build_key, jq.deps[0]!.build_key);
    assert.notEqual(jl.initrds[1], jq.initrds[1], 'two configs never share an artifact path');
    const builds = (await buildsOf(api, 'hello')).filter((b) => b.commit === lab.hello.good && b.state === 'succeeded');
    assert.deepEqual(builds.map((b) => b.config).sort(), ['loud', 'quiet']);
    // The artifact a job names is the one its build made, with the sha256 the server recorded.
    for (const j of [jl, jq]) {
      const b = await api.get<Build>(`/api/builds/${j.deps[0]!.build_key}`);
      assert.equal(b.files[0]!.url, j.initrds[1]);
      const res = await api.raw('GET', b.files[0]!.url);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal((await import('node:crypto')).createHash('sha256').update(bytes).digest('hex'), b.files[0]!.sha256);
    }
  });

  test('a tag and its full sha are one build; a resubmit builds nothing', async () => {
    const [byTag] = await submit(api, helloJob({ commit: 'v1', config: 'quiet' }));
    const first = await finished(api, byTag!);
    assert.equal(first.job_health, 'success');
    const before = (await buildsOf(api, 'hello')).length;
    const [bySha, again] = await submit(api, helloJob({ commit: lab.hello.shas[0]!, config: 'quiet' }), helloJob({ commit: 'v1', config: 'quiet' }));
    for (const id of [bySha!, again!]) {
      const j = await finished(api, id);
      assert.equal(j.job_health, 'success');
      assert.equal(j.deps[0]!.build_key, first.deps[0]!.build_key);
      assert.ok(j.timeline!.some((e) => e.event === 'reuse'), 'the timeline says the build was reused');
      assert.ok(!j.timeline!.some((e) => e.event === 'wait'), 'and that it never waited');
    }
    assert.equal((await buildsOf(api, 'hello')).length, before, 'no new build');
  });

  test('four concurrent identical jobs share one build, and all four are released (COMPASS-CI #2: duplicate builds)', async () => {
    const job = helloJob({ commit: 'v2', config: 'loud', delay: '1' });
    const ids = (await Promise.all([1, 2, 3, 4].map(() => submit(api, job)))).flat();
    const jobs = await Promise.all(ids.map((id) => finished(api, id)));
    for (const j of jobs) assert.equal(j.job_health, 'success');
    const keys = new Set(jobs.map((j) => j.deps[0]!.build_key));
    assert.equal(keys.size, 1);
    const b = await api.get<Build>(`/api/builds/${[...keys][0]}`);
    assert.equal(b.pkgbuild_jobs!.length, 1, 'one pkgbuild job');
    assert.deepEqual(b.jobs!.map((x) => x.wait).sort(), ['done', 'done', 'done', 'done']);
  });

  test('a recipe that fails finishes every waiter dependency_failed within a second of the build’s close (COMPASS-CI #4: failure not finished)', async () => {
    const ids = await submit(api, helloJob({ commit: lab.hello.broken }), helloJob({ commit: lab.hello.broken }), helloJob({ commit: lab.hello.broken, config: 'loud' }));
    const jobs = await Promise.all(ids.map((id) => finished(api, id)));
    for (const j of jobs) {
      assert.equal(j.job_stage, 'finish');
      assert.equal(j.job_health, 'dependency_failed');
      assert.ok(j.finish_time, 'it has a finish time');
      const f = j.dep_failure as { pkg: string; build_key: string; pkgbuild_job: number; health: string; log: string };
      assert.equal(f.pkg, 'hello');
      assert.equal(f.health, 'failed');
      assert.equal(f.build_key, j.deps[0]!.build_key);
      const pkgbuild = await api.get<Job>(`/api/jobs/${f.pkgbuild_job}`);
      assert.equal(pkgbuild.job_health, 'failed');
      assert.ok(Date.parse(j.finish_time!) - Date.parse(pkgbuild.finish_time!) < 1000, 'failed with the build, not by a later sweep');
      // The log names the compiler's complaint.
      assert.match(await api.get<string>(f.log), /error/i);
      assert.equal(Object.values(j.ss_wait_jobs)[0], 'failed');
    }
    // Two distinct keys (default and loud config), each built once and failed once.
    assert.equal(new Set(jobs.map((j) => j.deps[0]!.build_key)).size, 2);
    // A later submit inside the lab's failure memory fails at once, without building again.
    const [later] = await submit(api, helloJob({ commit: lab.hello.broken }));
    const l = await finished(api, later!);
    assert.equal(l.job_health, 'dependency_failed');
    assert.equal((l.dep_failure as { cached?: boolean }).cached, true);
  });

  test('two builds that finish together both count: the job waiting on both is released (COMPASS-CI #3: lost updates)', async () => {
    const [id] = await submit(api, {
      suite: 'use-hello',
      testbox: 'dc',
      ss: { hello: { commit: 'v4', config: 'quiet', delay: '1' }, linux: { commit: 'v5.10', config: 'small_defconfig', delay: '1' } },
    });
    const j = await finished(api, id!);
    assert.equal(j.job_health, 'success');
    assert.deepEqual(Object.values(j.ss_wait_jobs), ['success', 'success']);
    assert.deepEqual(j.deps.map((d) => d.wait).sort(), ['done', 'done']);
    assert.equal(j.timeline!.filter((e) => e.event === 'release').length, 1, 'released once, when the second build closed');
  });

  test('release is an event: the job is released in the build’s closing transaction (COMPASS-CI #5: polling latency)', async () => {
    const [id] = await submit(api, helloJob({ commit: 'v4', config: 'loud' }));
    const j = await finished(api, id!);
    const release = j.timeline!.find((e) => e.event === 'release')!;
    const pkgbuild = await api.get<Job>(`/api/jobs/${release.pkgbuild_job as number}`);
    const closed = pkgbuild.timeline!.find((e) => e.event === 'finish')!;
    assert.ok(Math.abs(Date.parse(release.time) - Date.parse(closed.time)) < 50, `release ${release.time} with close ${closed.time}`);
    assert.ok(j.timeline!.findIndex((e) => e.event === 'boot') > j.timeline!.findIndex((e) => e.event === 'release'));
  });

  test('the build runs on the lab’s build testbox group or the ss entry’s, never the test’s (COMPASS-CI #7)', async () => {
    const [onVm, explicit] = await submit(
      api,
      { ...helloJob({ commit: 'v1', config: 'loud' }), testbox: 'vm-2p8g' },
      helloJob({ commit: 'v2', config: 'quiet', testbox: 'dc-16g', cflags: '-O1' }),
    );
    const a = await api.get<Job>(`/api/jobs/${onVm}`);
    const b = await api.get<Job>(`/api/jobs/${explicit}`);
    const buildA = await api.get<Build>(`/api/builds/${a.deps[0]!.build_key}`);
    const buildB = await api.get<Build>(`/api/builds/${b.deps[0]!.build_key}`);
    assert.equal(buildA.testbox, 'dc-build');
    assert.equal(buildB.testbox, 'dc-16g');
    const pkgbuildB = await finished(api, buildB.pkgbuild_jobs![0]!.id);
    assert.equal(pkgbuildB.testbox, 'dc-16g');
    await api.post(`/api/jobs/${onVm}/cancel`); // no vm testbox here
    assert.equal((await finished(api, explicit!)).job_health, 'success');
  });

  test('a linux build gives kernel_uri and modules_uri under its config’s path, and /boot.ipxe lists them', async () => {
    await api.post('/api/testboxes/register', { hostname: 'vm-box-1', type: 'vm', arch: process.arch === 'arm64' ? 'aarch64' : 'x86_64', max_memory: 8, cpus: 2, mac: '52:54:00:12:34:56' });
    const [small, big] = await submit(
      api,
      { suite: 'boot-test', testbox: 'vm-2p8g', ss: { linux: { commit: 'v5.11', config: 'small_defconfig' } } },
      { suite: 'boot-test', testbox: 'vm-2p8g', ss: { linux: { commit: 'v5.11', config: 'big_defconfig' } } },
    );
    const waiting = await api.get<Job>(`/api/jobs/${small}`);
    assert.equal(waiting.kernel_uri, null, 'no kernel URI before the kernel is built');
    const ready = await waitFor('the linux builds', async () => {
      const [a, b] = [await api.get<Job>(`/api/jobs/${small}`), await api.get<Job>(`/api/jobs/${big}`)];
      return a.kernel_uri && b.kernel_uri ? [a, b] : undefined;
    });
    const sha = lab.linux.shas[1]!;
    for (const [j, config] of [[ready[0]!, "small_defconfig"], [ready[1]!, "big_defconfig"]] as const) {
      const key12 = j.deps[0]!.build_key.slice(0, 12);
      assert.equal(j.kernel_uri, `/kernel/${j.os_arch}/${config}/${sha}-${key12}/vmlinuz`);
      assert.deepEqual(j.modules_uri, [`/kernel/${j.os_arch}/${config}/${sha}-${key12}/modules.cgz`]);
      const vmlinuz = await api.get<string>(j.kernel_uri!);
      assert.match(vmlinuz, /kernel 5\.11 config/);
    }
    // The vm box boots: the script names the kernel and the modules of the job it was handed.
    const script = await api.get<string>('/boot.ipxe', { mac: '52-54-00-12-34-56' });
    const id = Number(/stacklab job (\d+)/.exec(script)![1]);
    const j = (id === small ? ready[0] : ready[1])!;
    assert.ok(script.startsWith('#!ipxe\n'));
    assert.match(script, new RegExp(`^kernel ${server.url}${j.kernel_uri!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `, 'm'));
    assert.match(script, new RegExp(`^initrd ${server.url}${j.modules_uri![0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.match(script, new RegExp(`^initrd ${server.url}/job_initrd_tmpfs/${id}/job.cgz$`, 'm'));
    assert.match(script, /initrd=job\.cgz/);
    for (const other of [small, big]) await api.post(`/api/jobs/${other}/cancel`).catch(() => {});
  });

  test('stuck waiters never starve dispatchable jobs (COMPASS-CI #6: starvation)', async () => {
    // 150 jobs of one account wait on a build no testbox can run (no vm testbox takes a pkgbuild job of vm-nobody).
    const stuck = await submit(api, ...Array.from({ length: 150 }, () => helloJob({ commit: 'v1', testbox: 'vm-nobody' }, { my_account: 'alice' })));
    const [plain] = await submit(api, { suite: 'boot-test', testbox: 'dc', my_account: 'alice' });
    assert.equal((await finished(api, plain!)).job_health, 'success');
    // Cancelling every waiter cancels the build nobody waits on any more.
    const key = (await api.get<Job>(`/api/jobs/${stuck[0]}`)).deps[0]!.build_key;
    for (const id of stuck) await api.post(`/api/jobs/${id}/cancel`);
    const b = await api.get<Build>(`/api/builds/${key}`);
    assert.equal(b.state, 'cancelled');
    assert.equal(b.pkgbuild_jobs![0]!.health, 'cancel');
  });

  test('nothing a job submits can mark dependencies or reach outside the lab (COMPASS-CI #8: trust)', async () => {
    const refusals: [unknown, RegExp][] = [
      [{ ...helloJob({ commit: 'v1' }), ss_wait_jobs: { 1: 'success' } }, /ss_wait_jobs/],
      [{ ...helloJob({ commit: 'v1' }), waited: { 2: 'job_health' } }, /waited/],
      [helloJob({ commit: 'v1', config: '../../../etc/passwd' }), /ss\.hello\.config/],
      [{ suite: 'use-hello', ss: { '../hello': { commit: 'v1' } } }, /ss/],
      [helloJob({ commit: '--upload-pack=touch /tmp/pwned' }), /ss\.hello\.commit/],
      [helloJob({ commit: 'v1', _upstream_url: 'ext::sh -c touch% /tmp/pwned' }), /ss\.hello\._upstream_url/],
    ];
    for (const [job, field] of refusals) {
      await assert.rejects(api.post('/api/jobs', job), (err: unknown) => {
        assert.ok(err instanceof ApiError, String(err));
        assert.equal(err.status, 400);
        assert.match(JSON.stringify(err.details) + err.message, field);
        return true;
      });
    }
    // A testbox uploads only into the result root of a job it holds.
    const [id] = await submit(api, { suite: 'boot-test', testbox: 'dc' });
    const done = await finished(api, id!);
    await assert.rejects(api.request('PUT', `/api/jobs/${id}/result/x.txt`, { query: { testbox: 'box-1' }, body: 'x', contentType: 'application/octet-stream' }), (e: unknown) => (e as ApiError).status === 409);
    await assert.rejects(api.request('PUT', `/api/jobs/${id}/result/..%2F..%2Fescape`, { query: { testbox: String(done.testbox_host) }, body: 'x', contentType: 'application/octet-stream' }), (e: unknown) => (e as ApiError).status === 400 && /must be relative/.test((e as ApiError).message));
  });

  test('stacklab builds lists the cache', async () => {
    const r = await runCli(['builds', '--server', server.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /hello/);
    assert.match(r.stdout, /succeeded/);
    const j = await runCli(['builds', '--server', server.url, '--json']);
    assert.ok((JSON.parse(j.stdout) as Build[]).length > 0);
  });
});

describe('ss: a build testbox that dies', () => {
  const t = tempDir();
  let lab: SsLab;
  let server: Proc & { url: string };
  const boxes: Proc[] = [];
  let api: ApiClient;

  before(async () => {
    lab = makeSsLab(t.dir);
    server = await startServer({ data: join(t.dir, 'data'), lab: lab.lab });
    api = new ApiClient(server.url);
  });

  after(async () => {
    for (const b of boxes) await b.kill();
    await server.kill();
    t.cleanup();
  });

  test('a killed build testbox leads to a retry on another, not a failure', async () => {
    const victim = await startTestbox({ server: server.url, hostname: 'victim', workdir: join(t.dir, 'victim') });
    boxes.push(victim);
    const [id] = await submit(api, helloJob({ commit: 'v2', config: 'loud', delay: '3' }));
    const first = await waitFor('the build to run on the victim', async () => {
      const j = await api.get<Job>(`/api/jobs/${id}`);
      const pb = Number(Object.keys(j.ss_wait_jobs)[0]);
      const p = await api.get<Job>(`/api/jobs/${pb}`);
      return p.job_stage === 'running' ? p : undefined;
    });
    await victim.kill('SIGKILL');
    boxes.push(await startTestbox({ server: server.url, hostname: 'healthy', workdir: join(t.dir, 'healthy') }));
    const j = await finished(api, id!);
    assert.equal(j.job_health, 'success');
    assert.equal((await api.get<Job>(`/api/jobs/${first.id}`)).job_health, 'abnormal');
    const b = await api.get<Build>(`/api/builds/${j.deps[0]!.build_key}`);
    assert.equal(b.state, 'succeeded');
    assert.equal(b.attempts, 2);
    assert.deepEqual(b.pkgbuild_jobs!.map((p) => p.health), ['abnormal', 'success']);
    assert.ok(j.timeline!.some((e) => e.event === 'build_retry'));
  });
});

describe('ss: a build that claims success without its artifact (COMPASS-CI #9: no check after success)', () => {
  const t = tempDir();
  let server: Proc & { url: string };
  let api: ApiClient;

  before(async () => {
    const lab = makeSsLab(t.dir);
    server = await startServer({ data: join(t.dir, 'data'), lab: lab.lab });
    api = new ApiClient(server.url);
  });

  after(async () => {
    await server.kill();
    t.cleanup();
  });

  test('the build fails and its waiters finish dependency_failed, not at boot with a 404', async () => {
    // A testbox that lies: it takes the pkgbuild job and closes it success without uploading anything.
    await api.post('/api/testboxes/register', { hostname: 'liar', type: 'dc', arch: process.arch === 'arm64' ? 'aarch64' : 'x86_64', max_memory: 8, cpus: 1 });
    const [id] = await submit(api, helloJob({ commit: 'v1' }));
    const assignment = await api.get<{ job: Job }>('/api/testboxes/liar/next', { wait: 5 });
    assert.equal(assignment.job.suite, 'pkgbuild');
    const pb = assignment.job.id;
    await api.post(`/api/jobs/${pb}/stage`, { testbox: 'liar', stage: 'running' });
    // Nor can it upload an artifact for a package that has no such artifact.
    await assert.rejects(api.request('PUT', `/api/jobs/${pb}/artifact/vmlinuz`, { query: { testbox: 'liar' }, body: 'x', contentType: 'application/octet-stream' }), (e: unknown) => (e as ApiError).status === 400);
    await api.post(`/api/jobs/${pb}/close`, { testbox: 'liar', health: 'success' });
    const j = await finished(api, id!);
    assert.equal(j.job_health, 'dependency_failed');
    assert.match(String((j.dep_failure as { error: string }).error), /uploaded no pkg\.cgz/);
    const b = await api.get<Build>(`/api/builds/${j.deps[0]!.build_key}`);
    assert.equal(b.state, 'failed');
  });
});
