// The seed's example job on an aarch64 vm testbox, in the lab: the job of
// the issue byte for byte (os openeuler 22.03-lts-sp4, os_arch aarch64,
// ss.linux of linux-next with Arch's recipe source), its upstream replaced
// by the generated kernel history and its recipe source by a repository of
// the example lab's linux recipe (both through the lab's url_rewrites, as a
// lab with mirrors does it), its config by the tiny-vm fragment given as a
// file (the CLI uploads it) and its commit by a tag of the history. A dc
// box cross-compiles (cross_builds: linux for aarch64 builds on this host's
// arch, with Debian's gcc-aarch64-linux-gnu); a vm box of arch aarch64 boots
// it in qemu-system-aarch64 (virt, cortex-a57, TCG) with an arm64 os image
// made by `stacklab osimage --arch aarch64` from Debian's arm64 packages.
// Skipped with a message where the cross compiler, qemu-system-aarch64 or
// the arm64 packages are missing, except under CI.
//
//   npx node --test test/kernel/linux-aarch64.kernel.ts
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeKernelHistory, type KernelHistory } from '../../src/demo/kernel-history.ts';
import { ApiClient } from '../../src/api/client.ts';
import type { Build, Job } from '../../src/api/contract.ts';
import { hostArch } from '../../src/config.ts';
import { tempDir } from '../support/tmp.ts';
import { makeRepo } from '../support/git.ts';
import { makeLab } from '../support/lab.ts';
import { runCli, startServer, startTestbox, type Proc } from '../support/procs.ts';
import { finished } from '../support/wait.ts';
import { SEED_JOB as SEED } from '../support/seed.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const LAB = join(ROOT, 'examples', 'lab');
const kept = process.env.STACKLAB_KERNEL_TEST_DIR;
const has = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const missing = !has('aarch64-linux-gnu-gcc', ['--version'])
  ? 'aarch64-linux-gnu-gcc is missing (apt-get install gcc-aarch64-linux-gnu)'
  : !has('qemu-system-aarch64', ['--version'])
    ? 'qemu-system-aarch64 is missing (apt-get install qemu-system-arm)'
    : !/\barm64\b/.test(execFileSync('dpkg', ['--print-foreign-architectures'], { encoding: 'utf8' }))
      ? 'dpkg knows no arm64 packages (dpkg --add-architecture arm64 && apt-get update)'
      : '';
if (missing && process.env.CI) throw new Error(`the aarch64 kernel test cannot run under CI: ${missing}`);
if (missing) console.log(`# SKIP aarch64 kernel test: ${missing}`);


describe('the seed job on an aarch64 vm testbox: cross-compiled in the lab, booted on qemu virt', { skip: missing || false }, () => {
  const t = tempDir('stacklab-kernel-arm64-');
  let history: KernelHistory;
  let server: Proc & { url: string };
  const boxes: Proc[] = [];
  let api: ApiClient;

  before(async () => {
    history = await makeKernelHistory(join(kept ? resolve(kept) : t.dir, 'upstream'));
    const recipes = join(t.dir, 'recipes', 'linux.git');
    makeRepo(recipes, [{ message: 'linux: the example lab recipe', files: { PKGBUILD: readFileSync(join(LAB, 'recipes', 'linux', 'PKGBUILD'), 'utf8') } }]);
    const lab = makeLab(join(t.dir, 'lab'), {
      policy: {
        heartbeat_interval: 2,
        testbox_lost_after: 30,
        boot_timeout: 300,
        running_grace: 120,
        post_run_timeout: 300,
        build_runtime: 3600,
        url_rewrites: { 'https://mirrors.tuna.tsinghua.edu.cn/git/linux-next.git': history.dir, 'https://git.archlinux.org/linux.git': recipes },
        cross_builds: { linux: { aarch64: hostArch() } },
      },
      files: {
        'suites/host-info/run': readFileSync(join(LAB, 'suites', 'host-info', 'run'), 'utf8'),
      },
    });
    execFileSync('chmod', ['+x', join(lab, 'suites', 'host-info', 'run')]);
    const data = join(t.dir, 'data');
    server = await startServer({ data, lab });
    api = new ApiClient(server.url);
    const made = await runCli(['osimage', '--data', data, '--arch', 'aarch64', '--os', 'openeuler', '--os-version', '22.03-lts-sp4', '--json']);
    assert.equal(made.code, 0, made.stderr);
    boxes.push(await startTestbox({ server: server.url, hostname: 'build-32g', workdir: join(t.dir, 'builder'), mem: 32 }));
    boxes.push(await startTestbox({ server: server.url, hostname: 'vm-arm-1', workdir: join(t.dir, 'vm-arm'), extra: ['--type', 'vm', '--arch', 'aarch64', '--accel', 'tcg'] }));
    writeFileSync(join(t.dir, 'seed.yaml'), SEED);
    writeFileSync(join(t.dir, 'tiny-vm'), readFileSync(join(LAB, 'configs', 'linux', 'tiny-vm'), 'utf8'));
  });
  after(async () => {
    for (const b of boxes) await b.kill();
    await server?.kill();
    t.cleanup();
  });

  test('the seed job runs to success: host-info in the aarch64 guest sees the kernel built for it', async () => {
    const started = performance.now();
    const r = await runCli(['submit', join(t.dir, 'seed.yaml'), '--server', server.url, '--json',
      `ss.linux.commit=${history.tags['lab-version-change']}`, `ss.linux.config=${join(t.dir, 'tiny-vm')}`]);
    assert.equal(r.code, 0, r.stderr);
    const id = (JSON.parse(r.stdout) as { job_id: number }[])[0]!.job_id;
    const job = await finished(api, id, 60 * 60_000);
    const output = await api.raw('GET', `/result/${job.result_root.replace(/^\/?result\//, '')}/output`).then((x) => x.text());
    assert.equal(job.job_health, 'success', output);
    const build = await api.get<Build>(`/api/builds/${job.deps[0]!.build_key}`);
    assert.equal(build.os_arch, 'aarch64');
    assert.equal(build.testbox, 'dc-32g');
    const builder = await api.get<Job>(`/api/jobs/${build.pkgbuild_job}`);
    assert.equal(builder.testbox_host, 'build-32g', 'cross-compiled on the dc box');
    console.log(`# aarch64 cross build: ${builder.stats?.['pkgbuild.build_seconds']} s; the whole job ${((performance.now() - started) / 1000).toFixed(0)} s`);
    assert.equal(job.testbox_host, 'vm-arm-1');
    assert.match(output, /^kernel 6\.1\.\d+-sl1\+? on aarch64$/m, "the kernel built at the commit (a sha checked out: setlocalversion may add +)");
    assert.equal(job.stats?.['host-info.nr_cpu'], 2);
  });
});
