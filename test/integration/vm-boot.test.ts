// Real qemu boots of Debian's own kernel (/boot/vmlinuz-*, its NIC drivers
// in a modules initrd made with depmod) with stacklab's os image and a job,
// against a small HTTP server on the host that answers like the lab's API
// and records what the guest sends. Skipped, visibly, where qemu or a kernel
// is missing, except under CI.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { bootVm, type VmBootRequest } from '../../src/vm/boot.ts';
import { installedKernels, modulesInitrd } from '../../src/vm/initrd.ts';
import { guestJobInitrds } from '../support/vm.ts';
import { buildOsImage } from '../../src/vm/os-image.ts';
import { tempDir } from '../support/tmp.ts';
import { recordServer, type RecordServer } from '../support/record-server.ts';

const qemu = (() => {
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const kernels = await installedKernels();
const readable = (f: string) => {
  try {
    accessSync(f, constants.R_OK);
    return true;
  } catch {
    return false;
  }
};
const kernel = kernels.filter((k) => existsSync(join('/lib/modules', k.release, 'modules.dep'))).at(-1);
const missing = !qemu
  ? 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)'
  : !kernel
    ? 'no Debian kernel in /boot (apt-get install linux-image-amd64)'
    : !readable(kernel.vmlinuz)
      ? `${kernel.vmlinuz} is not readable by this user (Debian installs it 0600)`
      : '';
if (missing && process.env.CI) throw new Error(`vm boot tests cannot run under CI: ${missing}`);
if (missing) console.log(`# SKIP vm boot tests: ${missing}`);

describe('a vm boot of Debian\'s kernel', { skip: missing || false }, () => {
  const t = tempDir('stacklab-vm-');
  let api: RecordServer;
  let osImage = '';
  let modules = '';
  let n = 0;

  before(async () => {
    api = await recordServer();
    osImage = join(t.dir, 'os.cgz');
    await buildOsImage({ arch: 'x86_64', os: 'debian', osVersion: '12', debCache: join(t.dir, 'debs') }, osImage);
    modules = join(t.dir, 'modules.cgz');
    await modulesInitrd({ release: kernel!.release, outFile: modules });
  });
  after(async () => {
    await api.close();
    t.cleanup();
  });

  /** A job.cgz with this suite run script, and the env initrd; boots it. */
  async function boot(run: string, opts: Partial<VmBootRequest> & { runtimeSec?: number } = {}) {
    const dir = join(t.dir, `boot-${++n}`);
    const jobInitrds = await guestJobInitrds(t.dir, { id: n, suite: 'probe', files: [{ name: 'suite/run', data: run, mode: 0o755 }], env: { greeting: "it's $(not) run" } });
    api.seen = [];
    return bootVm({
      arch: 'x86_64',
      group: 'vm-2p2g',
      kernel: kernel!.vmlinuz,
      initrds: [osImage, modules, ...jobInitrds],
      guest: { server: `http://10.0.2.2:${api.port}`, job: n, testbox: 'vm-2p2g-1', token: `token-${n}`, runtimeSec: opts.runtimeSec ?? 60 },
      workDir: dir,
      deadlines: { bootMs: 60_000, networkMs: 30_000, jobMs: 90_000 },
      accel: 'tcg',
      ...opts,
    });
  }

  test('the job runs in the guest, uploads with POST, closes, and qemu powers off', async () => {
    const started = performance.now();
    const r = await boot('#!/bin/bash\necho "greeting=$greeting"\necho "cpus: $(getconf _NPROCESSORS_ONLN)"\necho "kernel: $(uname -r)"\necho made > "$RESULT_ROOT/extra file.txt"\n', { accel: 'auto' });
    const seconds = (performance.now() - started) / 1000;
    assert.deepEqual(r.outcome, { result: 'closed', health: 'success', rc: 0, detail: 'the guest closed the job (success)' });
    assert.ok(seconds < 60, `boot + job + power-off took ${seconds.toFixed(1)} s`);
    assert.ok(r.probe, 'accel auto probed KVM');
    if (!r.probe!.usable) assert.equal(r.accel, 'tcg');
    const paths = api.seen.map((s) => `${s.method} ${s.path}`);
    const id = n;
    assert.deepEqual(paths, [
      `POST /api/jobs/${id}/stage`,
      `POST /api/jobs/${id}/stage`,
      `POST /api/jobs/${id}/result/extra%20file.txt?testbox=vm-2p2g-1`,
      `POST /api/jobs/${id}/result/output?testbox=vm-2p2g-1`,
      `POST /api/jobs/${id}/result/stats.txt?testbox=vm-2p2g-1`,
      `POST /api/jobs/${id}/result/dmesg?testbox=vm-2p2g-1`,
      `POST /api/jobs/${id}/close`,
    ]);
    assert.ok(api.seen.every((s) => s.auth === `Bearer token-${id}`), 'every request carries the job credential');
    assert.deepEqual(JSON.parse(api.seen[0]!.body.toString()), { testbox: 'vm-2p2g-1', stage: 'running' });
    assert.deepEqual(JSON.parse(api.seen.at(-1)!.body.toString()), { testbox: 'vm-2p2g-1', health: 'success' });
    const output = api.seen[3]!.body.toString();
    assert.match(output, /^greeting=it's \$\(not\) run$/m, 'a parameter arrives as its value, never as shell text');
    assert.match(output, /^cpus: 2$/m, 'vm-2p2g has 2 CPUs');
    assert.match(output, new RegExp(`^kernel: ${kernel!.release.replace(/[.+]/g, '\\$&')}$`, 'm'));
    assert.equal(api.seen[2]!.body.toString(), 'made\n');
    const dmesg = api.seen[5]!.body.toString();
    assert.match(dmesg, /Linux version/, 'dmesg is the kernel log');
    assert.ok(!dmesg.includes(`token-${id}`) && dmesg.includes('stacklab_token=<redacted>'), 'the credential is blanked out of the uploaded dmesg');
    // qemu ended by itself, on the guest's power-off (the last console chunk is often read
    // in the same millisecond as the exit, so the two stamps can be equal)
    assert.equal(r.killedFor, undefined, 'qemu was not killed');
    assert.ok(r.timeline.poweroff !== undefined && r.timeline.poweroff <= r.timeline.exit!, `the guest powered off before qemu ended: ${JSON.stringify(r.timeline)}`);
    assert.match(readFileSync(r.consoleFile, 'utf8'), /STACKLAB: closed health=success/);
  });

  test('a command line that cannot start init is boot.panic, within the boot deadline, and reports nothing', async () => {
    const r = await boot('#!/bin/sh\necho never\n', { append: ['rdinit=/nonexistent'], deadlines: { bootMs: 40_000, networkMs: 30_000, jobMs: 60_000 } });
    assert.equal(r.outcome.result, 'failed');
    assert.equal(r.outcome.result === 'failed' && r.outcome.stat, 'boot.panic');
    assert.match(r.outcome.detail, /^Kernel panic - not syncing: (VFS: Unable to mount root fs|No working init found)/);
    assert.ok(r.durationMs < 40_000);
    assert.deepEqual(api.seen, []);
  });

  test('a job that outlives its deadline is killed and classified timeout', async () => {
    // The guest would let it run 60 s; the host's job deadline is shorter.
    const r = await boot('#!/bin/sh\necho sleeping\nsleep 120\n', { deadlines: { bootMs: 60_000, networkMs: 30_000, jobMs: 3_000 } });
    assert.equal(r.outcome.result, 'timeout');
    assert.ok(r.timeline['job start']! + 3_000 <= r.timeline.exit! + 50);
    assert.ok(!api.seen.some((s) => s.path.includes('/close')), 'the guest never got to close');
  });

  test('a report the server refuses stops the guest at once', async () => {
    api.answer = (path) => (path.endsWith('/stage') ? 409 : 200);
    try {
      const r = await boot('#!/bin/sh\necho never\n');
      assert.equal(r.outcome.result, 'refused');
      assert.match(r.outcome.detail, /409/);
      assert.equal(api.seen.length, 1);
    } finally {
      api.answer = () => 200;
    }
  });

  test('qemu missing or unable to start is an infrastructure error, not a test result', async () => {
    const gone = await boot('#!/bin/sh\n', { binary: join(t.dir, 'no-such-qemu') });
    assert.equal(gone.outcome.result, 'infra');
    assert.match(gone.outcome.detail, /ENOENT/);
    const bad = await boot('#!/bin/sh\n', { kernel: join(t.dir, 'no-such-kernel') });
    assert.equal(bad.outcome.result, 'infra');
    assert.match(bad.outcome.detail, /could not open kernel file/);
  });
});
