// The kernel story without a lab server: the generated history, the real
// linux recipe through the pkgbuild runner (a cold build, then incremental
// ones in the kept tree), and each kernel booted in qemu with the os image
// and host-info, against a recording API server. What a user checks: the
// version and /proc facts host-info reports change at the planted commits,
// the boot-breaking commit panics, the build-breaking one fails to build,
// and a one-file change rebuilds in seconds. Prints the figures.
//
//   npx node --test test/kernel/linux-x86_64.kernel.ts
//   (STACKLAB_KERNEL_TEST_DIR=DIR keeps history, mirrors and caches between runs)
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeKernelHistory, type KernelHistory } from '../../src/demo/kernel-history.ts';
import { runPkgbuild, type PkgbuildOutcome } from '../../src/pkgbuild/runner.ts';
import { parseStats } from '../../src/model/stats.ts';
import { bootVm, type VmBootResult } from '../../src/vm/boot.ts';
import { buildOsImage } from '../../src/vm/os-image.ts';
import { tempDir } from '../support/tmp.ts';
import { recordServer, type RecordServer } from '../support/record-server.ts';
import { guestJobInitrds, suiteEntries } from '../support/vm.ts';

const LAB = resolve(import.meta.dirname, '..', '..', 'examples', 'lab');
const kept = process.env.STACKLAB_KERNEL_TEST_DIR;

describe('linux on x86_64: history, recipe, incremental builds, boots', () => {
  const t = kept ? { dir: resolve(kept), cleanup: () => {} } : tempDir('stacklab-kernel-');
  const figures: Record<string, number> = {};
  let history: KernelHistory;
  let api: RecordServer;
  let osImage = '';
  let n = 0;

  before(async () => {
    mkdirSync(t.dir, { recursive: true });
    const started = performance.now();
    history = await makeKernelHistory(join(t.dir, 'upstream'));
    figures.history_seconds = (performance.now() - started) / 1000;
    api = await recordServer();
    osImage = join(t.dir, 'os.cgz');
    await buildOsImage({ arch: 'x86_64', os: 'debian', osVersion: '12', debCache: join(t.dir, 'debs') }, osImage);
  });
  after(async () => {
    await api?.close();
    console.log(`# figures ${JSON.stringify(Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, Number(v.toFixed(1))])))}`);
    if (kept) writeFileSync(join(t.dir, 'figures.json'), JSON.stringify(figures, null, 1) + '\n');
    t.cleanup();
  });

  async function build(tag: string): Promise<PkgbuildOutcome & { makeSeconds: number; log: string; out: string }> {
    const jobDir = join(t.dir, 'jobs', `build-${++n}`);
    mkdirSync(jobDir, { recursive: true });
    cpSync(join(LAB, 'recipes', 'linux'), join(jobDir, 'recipe'), { recursive: true });
    cpSync(join(LAB, 'configs', 'linux', 'tiny-vm'), join(jobDir, 'config'));
    const o = await runPkgbuild({
      jobDir,
      build: { pkg: 'linux', fork: 'linux', upstream_url: history.dir, commit: history.tags[tag]!, config: 'tiny-vm', params: {}, build_key: `${tag}`.padEnd(64, '0') },
      gitCacheDir: join(t.dir, 'git'),
      cacheDir: join(t.dir, 'pkgcache'),
      osArch: 'x86_64',
      outDir: join(jobDir, 'out'),
      logFile: join(jobDir, 'build.log'),
      timeoutMs: 40 * 60_000,
    });
    const log = readFileSync(join(jobDir, 'build.log'), 'utf8');
    const makeSeconds = Number(/linux: make .* took (\d+) s/.exec(log)?.[1] ?? NaN);
    return { ...o, makeSeconds, log, out: join(jobDir, 'out') };
  }

  async function boot(out: string): Promise<VmBootResult & { stats: Record<string, number>; output: string }> {
    const dir = join(t.dir, 'jobs', `boot-${++n}`);
    mkdirSync(dir, { recursive: true });
    const job = await guestJobInitrds(dir, { id: n, suite: 'host-info', files: suiteEntries(join(LAB, 'suites', 'host-info')), env: { detail: 'full', linux_root: '/' } });
    api.seen = [];
    const r = await bootVm({
      arch: 'x86_64',
      group: 'vm-2p1g',
      kernel: join(out, 'vmlinuz'),
      initrds: [osImage, join(out, 'modules.cgz'), ...job],
      guest: { server: `http://10.0.2.2:${api.port}`, job: n, testbox: 'vm-2p1g-1', token: `t${n}`, runtimeSec: 120 },
      workDir: dir,
      deadlines: { bootMs: 60_000, networkMs: 30_000, jobMs: 180_000 },
      accel: 'tcg',
    });
    const output = api.result('output') ?? '';
    return { ...r, output, stats: parseStats(api.result('stats.txt') ?? '', 'host-info') };
  }

  let memoryAtVersionChange = 0;

  test('a cold build at the version change, booted: host-info sees the built kernel, its CPUs and memory', async () => {
    const b = await build('lab-version-change');
    assert.equal(b.result, 'success', b.error);
    figures.first_build_seconds = b.durationMs / 1000;
    figures.first_build_make_seconds = b.makeSeconds;
    assert.deepEqual(b.artifacts.map((a) => a.name), ['pkg.cgz', 'vmlinuz', 'modules.cgz']);
    const r = await boot(b.out);
    assert.equal(r.outcome.result, 'closed', JSON.stringify(r.outcome));
    figures.tiny_boot_job_seconds = r.durationMs / 1000;
    assert.match(r.output, /^kernel 6\.1\.\d+-sl1 on x86_64$/m, 'uname -r carries the planted EXTRAVERSION (the tag is annotated: no +)');
    assert.equal(r.stats['host-info.nr_cpu'], 2);
    memoryAtVersionChange = r.stats['host-info.memory_total_mb']!;
    assert.ok(memoryAtVersionChange > 800 && memoryAtVersionChange <= 1024, `memory_total_mb ${memoryAtVersionChange} for a 1 GiB guest`);
  });

  test('three commits on, incrementally: the meminfo change shows as 16 MB less MemTotal', async () => {
    const b = await build('lab-meminfo-change');
    assert.equal(b.result, 'success', b.error);
    assert.match(b.log, /linux: kept tree .*checked out/, 'the kept tree was reused');
    figures.incremental_build_seconds = b.durationMs / 1000;
    figures.incremental_make_seconds = b.makeSeconds;
    assert.ok(b.makeSeconds < (figures.first_build_make_seconds ?? Infinity) / 4, `incremental make took ${b.makeSeconds} s`);
    const r = await boot(b.out);
    assert.equal(r.outcome.result, 'closed', JSON.stringify(r.outcome));
    assert.match(r.output, /^kernel 6\.1\.\d+-sl1\+ on x86_64$/m);
    const drop = memoryAtVersionChange - r.stats['host-info.memory_total_mb']!;
    assert.ok(drop >= 15 && drop <= 17, `MemTotal dropped by ${drop} MB`);
  });

  test('the boot-breaking commit builds, and its boot is boot.panic', async () => {
    const b = await build('lab-boot-break');
    assert.equal(b.result, 'success', b.error);
    figures.incremental_build_boot_break_seconds = b.durationMs / 1000;
    const r = await boot(b.out);
    assert.deepEqual(r.outcome, { result: 'failed', stat: 'boot.panic', detail: 'Kernel panic - not syncing: No init given: pass init= on the kernel command line.' });
    figures.tiny_boot_panic_seconds = r.durationMs / 1000;
    assert.deepEqual(api.seen, [], 'the guest never reported');
  });

  test('the build-breaking commit fails to build, and the next build still works from the kept tree', async () => {
    const b = await build('lab-build-break');
    assert.equal(b.result, 'failed');
    assert.match(b.error ?? '', /build\(\) failed/);
    assert.match(b.log, /kernel\/sys\.c.*error/);
    const fix = await build('lab-build-fix');
    assert.equal(fix.result, 'success', fix.error);
    figures.incremental_build_after_failure_seconds = fix.durationMs / 1000;
    assert.ok(existsSync(join(fix.out, 'vmlinuz')));
    assert.doesNotMatch(fix.log, /did not finish/, 'a compile error leaves a tree the next build continues from');
    figures.incremental_make_after_failure_seconds = fix.makeSeconds;
  });
});
