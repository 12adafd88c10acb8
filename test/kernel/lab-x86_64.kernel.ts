// The seed's scenario in the lab, for real: a `stacklab server` with the
// example lab's linux recipe and tiny-vm config, its linux upstream the
// generated history; a dc testbox builds, a vm testbox (qemu, TCG) boots.
// A user submits examples/jobs/host-info-vm.yaml at one commit and then
// another (the second build incremental in the dc box's kept tree), reads
// host-info's stats from the guest (the built kernel's version, the guest's
// CPUs and memory), then bisects "does not boot" in the lab and gets the
// planted boot-breaking commit, every probe's kernel built once; then
// bisects the same break by its kernel error (`--errid dmesg.Kernel_panic…`,
// the stat the server reads from the console), reusing those kernels. Prints
// the figures (first build, incremental build, boot + job, the bisects).
//
//   npx node --test test/kernel/lab-x86_64.kernel.ts
//   (STACKLAB_KERNEL_TEST_DIR=DIR keeps the history between runs)
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { makeKernelHistory, type KernelHistory } from '../../src/demo/kernel-history.ts';
import { ApiClient } from '../../src/api/client.ts';
import type { Bisect, Build, Job } from '../../src/api/contract.ts';
import { tempDir } from '../support/tmp.ts';
import { runCli, startServer, startTestbox, type Proc } from '../support/procs.ts';
import { finished } from '../support/wait.ts';
import { vmMissing } from '../support/vm.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const { missing } = await vmMissing('the kernel lab test');
const kept = process.env.STACKLAB_KERNEL_TEST_DIR;
/** The planted boot break's panic (src/demo/kernel-steps.ts) as a dmesg stat. */
const PANIC_ERRID = 'dmesg.Kernel_panic-not_syncing:No_init_given:pass_init=on_the_kernel_command_line';

describe('the seed scenario in the lab: build linux, boot it on a vm testbox, bisect a boot break', { skip: missing || false }, () => {
  const t = tempDir('stacklab-kernel-lab-');
  const figures: Record<string, number> = {};
  let history: KernelHistory;
  let server: Proc & { url: string };
  const boxes: Proc[] = [];
  let api: ApiClient;
  const jobFile = join(t.dir, 'host-info-vm.yaml');

  before(async () => {
    const started = performance.now();
    history = await makeKernelHistory(join(kept ? resolve(kept) : t.dir, 'upstream'));
    figures.history_seconds = (performance.now() - started) / 1000;
    // The example lab as shipped, its linux upstream pointed at the generated history.
    const lab = join(t.dir, 'lab');
    cpSync(join(ROOT, 'examples', 'lab'), lab, { recursive: true });
    writeFileSync(join(lab, 'upstreams', 'linux', 'linux.yaml'), `url: ${history.dir}\nrecipe: linux\n`);
    const policy = parseYaml(readFileSync(join(lab, 'lab.yaml'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(lab, 'lab.yaml'), stringify({ ...policy, heartbeat_interval: 2, sweep_interval: 1, build_runtime: 2400 }));
    // The user's job file: the example, unchanged.
    cpSync(join(ROOT, 'examples', 'jobs', 'host-info-vm.yaml'), jobFile);
    const data = join(t.dir, 'data');
    mkdirSync(data, { recursive: true });
    server = await startServer({ data, lab });
    api = new ApiClient(server.url);
    const made = await runCli(['osimage', '--data', data, '--json']);
    assert.equal(made.code, 0, made.stderr);
    boxes.push(await startTestbox({ server: server.url, hostname: 'builder', workdir: join(t.dir, 'builder') }));
    boxes.push(await startTestbox({ server: server.url, hostname: 'vm-1', workdir: join(t.dir, 'vm-1'), extra: ['--type', 'vm', '--accel', 'tcg'] }));
  });
  after(async () => {
    for (const b of boxes) await b.kill();
    await server?.kill();
    console.log(`# figures ${JSON.stringify(Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Number(v.toFixed(1))])))}`);
    t.cleanup();
  });

  /** Submits the example job with its commit changed (as a user edits the file) and waits for it. */
  async function runAt(commit: string): Promise<{ job: Job; build: Build; output: string }> {
    const file = join(t.dir, `host-info-vm-${commit.slice(0, 12)}.yaml`);
    writeFileSync(file, readFileSync(jobFile, 'utf8').replace(/^( {4}commit:) \S+$/m, `$1 ${commit}`));
    const r = await runCli(['submit', file, '--server', server.url, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const id = (JSON.parse(r.stdout) as { job_id: number }[])[0]!.job_id;
    const job = await finished(api, id, 40 * 60_000);
    const build = await api.get<Build>(`/api/builds/${job.deps[0]!.build_key}`);
    const output = await api.raw('GET', `/result/${job.result_root.replace(/^\/?result\//, '')}/output`).then((x) => x.text());
    return { job, build, output };
  }
  const buildSeconds = async (b: Build) => {
    const j = await api.get<Job>(`/api/jobs/${b.pkgbuild_job}`);
    return j.stats?.['pkgbuild.build_seconds'] ?? NaN;
  };

  let memory = 0;

  test('the example job: its kernel is built, held for, booted in a vm-2p8g guest; host-info sees it', async () => {
    const started = performance.now();
    const { job, build, output } = await runAt(history.tags['lab-version-change']!);
    assert.equal(job.job_health, 'success', output);
    assert.equal(build.state, 'succeeded');
    figures.first_build_seconds = await buildSeconds(build);
    figures.first_job_wall_seconds = (performance.now() - started) / 1000;
    assert.match(output, /^kernel 6\.1\.\d+-sl1\+? on x86_64$/m, 'the guest runs the kernel built at the commit (the lab checks out a sha: setlocalversion may add +)');
    assert.equal(job.stats?.['host-info.nr_cpu'], 2, 'vm-2p8g: 2 CPUs (this host has 2)');
    memory = job.stats?.['host-info.memory_total_mb'] ?? 0;
    assert.ok(memory > 6000 && memory <= 8192, `vm-2p8g: 8 GiB (the guest sees ${memory} MB)`);
  });

  test('three commits on, the build is incremental and the planted MemTotal change shows', async () => {
    const started = performance.now();
    const { job, build, output } = await runAt(history.tags['lab-meminfo-change']!);
    assert.equal(job.job_health, 'success', output);
    figures.incremental_build_seconds = await buildSeconds(build);
    figures.incremental_job_wall_seconds = (performance.now() - started) / 1000;
    assert.ok(figures.incremental_build_seconds < figures.first_build_seconds! / 3, `incremental build ${figures.incremental_build_seconds} s vs first ${figures.first_build_seconds} s`);
    const drop = memory - (job.stats?.['host-info.memory_total_mb'] ?? 0);
    assert.ok(drop >= 15 && drop <= 17, `MemTotal dropped by ${drop} MB`);
  });

  test('a lab bisect of "does not boot" finds the boot-breaking commit, reusing the builds it has', async () => {
    const started = performance.now();
    const r = await runCli(['bisect', 'start', jobFile, '--server', server.url, '--pkg', 'linux', '--criterion', 'function', '--deterministic',
      '--good', history.tags['lab-meminfo-change']!, '--bad', history.head, '--wait', '--timeout', '2400', '--json']);
    figures.bisect_wall_seconds = (performance.now() - started) / 1000;
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 3000));
    const b = JSON.parse(r.stdout) as Bisect;
    assert.equal(b.state, 'done');
    assert.equal(b.result!.first_bad, history.tags['lab-boot-break']);
    figures.bisect_probes = b.jobs.length;
    const culprit = b.jobs.find((j) => j.sha === history.tags['lab-boot-break']);
    assert.ok(culprit, 'the culprit was run');
    const job = await api.get<Job>(`/api/jobs/${culprit.job_id}`);
    assert.equal(job.job_health, 'failed');
    assert.equal(job.stats?.['boot.panic'], 1, 'it failed because it did not boot');
    assert.equal(job.stats?.[PANIC_ERRID], 1, 'and its console shows the planted panic, as lkp names it');
    // Every kernel of the bisect was built once: no two probes of one commit built twice.
    const builds = await api.get<Build[]>('/api/builds');
    const keys = builds.filter((x) => x.pkg === 'linux').map((x) => x.commit);
    assert.equal(new Set(keys).size, keys.length, 'one build per commit');
  });

  test('the same break bisected by its kernel error (--errid dmesg.…), as one bisects a warning or an oops', async () => {
    const linuxBuilds = async () => (await api.get<Build[]>('/api/builds')).filter((x) => x.pkg === 'linux').length;
    const before = await linuxBuilds();
    const started = performance.now();
    const r = await runCli(['bisect', 'start', jobFile, '--server', server.url, '--pkg', 'linux', '--errid', PANIC_ERRID, '--deterministic',
      '--good', history.tags['lab-meminfo-change']!, '--bad', history.head, '--wait', '--timeout', '1800', '--json']);
    figures.errid_bisect_wall_seconds = (performance.now() - started) / 1000;
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 3000));
    const b = JSON.parse(r.stdout) as Bisect;
    assert.equal(b.result!.first_bad, history.tags['lab-boot-break']);
    assert.equal(await linuxBuilds(), before, 'every kernel it probed was built already: reused, none made');
    figures.errid_bisect_probes = b.jobs.length;
  });
});
