// The seed's aarch64 case without a lab server: the linux recipe
// cross-compiles the generated history's kernel for os_arch aarch64 with
// Debian's gcc-aarch64-linux-gnu, and qemu-system-aarch64 (virt, cortex-a57,
// TCG) boots it with an arm64 os image (Debian's arm64 packages, fetched
// with apt-get download) and runs host-info. Skipped with a message where
// the cross compiler, qemu-system-aarch64 or the arm64 packages are
// missing, except under CI.
//
//   npx node --test test/kernel/linux-aarch64.kernel.ts
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeKernelHistory, type KernelHistory } from '../../src/demo/kernel-history.ts';
import { runPkgbuild } from '../../src/pkgbuild/runner.ts';
import { parseStats } from '../../src/model/stats.ts';
import { bootVm } from '../../src/vm/boot.ts';
import { buildOsImage } from '../../src/vm/os-image.ts';
import { tempDir } from '../support/tmp.ts';
import { recordServer, type RecordServer } from '../support/record-server.ts';
import { guestJobInitrds, suiteEntries } from '../support/vm.ts';

const LAB = resolve(import.meta.dirname, '..', '..', 'examples', 'lab');
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

describe('linux on aarch64: cross-compiled, booted on qemu virt', { skip: missing || false }, () => {
  const t = kept ? { dir: resolve(kept), cleanup: () => {} } : tempDir('stacklab-kernel-arm64-');
  let history: KernelHistory;
  let api: RecordServer;

  before(async () => {
    mkdirSync(t.dir, { recursive: true });
    history = await makeKernelHistory(join(t.dir, 'upstream'));
    api = await recordServer();
  });
  after(async () => {
    await api?.close();
    t.cleanup();
  });

  test('the version-change commit builds for aarch64 and host-info runs in the guest', async () => {
    const jobDir = join(t.dir, 'jobs', 'arm64-build');
    mkdirSync(jobDir, { recursive: true });
    cpSync(join(LAB, 'recipes', 'linux'), join(jobDir, 'recipe'), { recursive: true });
    cpSync(join(LAB, 'configs', 'linux', 'tiny-vm'), join(jobDir, 'config'));
    const b = await runPkgbuild({
      jobDir,
      build: { pkg: 'linux', fork: 'linux', upstream_url: history.dir, commit: history.tags['lab-version-change']!, config: 'tiny-vm', params: {}, build_key: 'a'.repeat(64) },
      gitCacheDir: join(t.dir, 'git'),
      cacheDir: join(t.dir, 'pkgcache'),
      osArch: 'aarch64',
      outDir: join(jobDir, 'out'),
      logFile: join(jobDir, 'build.log'),
      timeoutMs: 40 * 60_000,
    });
    assert.equal(b.result, 'success', b.error);
    assert.match(readFileSync(join(jobDir, 'build.log'), 'utf8'), /linux: 6\.1\.\d+-sl1 for arm64/);
    console.log(`# aarch64 cross build: ${(b.durationMs / 1000).toFixed(0)} s`);

    const osImage = join(t.dir, 'os-arm64.cgz');
    await buildOsImage({ arch: 'aarch64', os: 'debian', osVersion: '12', debCache: join(t.dir, 'debs') }, osImage);
    const dir = join(t.dir, 'jobs', 'arm64-boot');
    mkdirSync(dir, { recursive: true });
    const job = await guestJobInitrds(dir, { id: 1, suite: 'host-info', files: suiteEntries(join(LAB, 'suites', 'host-info')), env: { detail: 'full' } });
    const r = await bootVm({
      arch: 'aarch64',
      group: 'vm-2p1g',
      kernel: join(jobDir, 'out', 'vmlinuz'),
      initrds: [osImage, join(jobDir, 'out', 'modules.cgz'), ...job],
      guest: { server: `http://10.0.2.2:${api.port}`, job: 1, testbox: 'vm-2p1g-arm', token: 'arm', runtimeSec: 120 },
      workDir: dir,
      deadlines: { bootMs: 120_000, networkMs: 60_000, jobMs: 240_000 },
      accel: 'tcg',
    });
    assert.equal(r.outcome.result, 'closed', `${JSON.stringify(r.outcome)}\n${readFileSync(r.consoleFile, 'utf8').slice(-2000)}`);
    console.log(`# aarch64 boot + host-info: ${(r.durationMs / 1000).toFixed(1)} s`);
    const output = api.result('output') ?? '';
    assert.match(output, /^kernel 6\.1\.\d+-sl1 on aarch64$/m);
    assert.equal(parseStats(api.result('stats.txt') ?? '', 'host-info')['host-info.nr_cpu'], 2);
  });
});
