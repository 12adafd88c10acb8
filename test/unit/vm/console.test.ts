// The boot classifier on real consoles (test/fixtures/vm-console/*.console: captured
// from qemu boots of the lab's tiny kernel and Debian's) and on the ends that
// are hard to provoke on purpose (qemu that cannot start, a hang).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { classifyBoot, markers, panicLine, redact, type BootFacts } from '../../../src/vm/console.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'vm-console', name), 'latin1');
const facts = (console: string, more: Partial<BootFacts> = {}): BootFacts => ({ console, exitCode: 0, signal: null, stderr: '', ...more });

test('a guest that closed its job is closed, with the health and exit status it reported', () => {
  assert.deepEqual(classifyBoot(facts(fixture('tiny-closed.console'))), { result: 'closed', health: 'success', rc: 0, detail: 'the guest closed the job (success)' });
  const t = classifyBoot(facts(fixture('tiny-guest-timeout.console')));
  assert.equal(t.result, 'closed');
  assert.equal(t.result === 'closed' && t.health, 'timeout');
});

test('a panic before the job is boot.panic, with the panic line', () => {
  const o = classifyBoot(facts(fixture('tiny-panic-no-init.console')));
  assert.equal(o.result, 'failed');
  assert.equal(o.result === 'failed' && o.stat, 'boot.panic');
  assert.match(o.detail, /^Kernel panic - not syncing: No working init found/);
});

test('a panic during the job is job.panic, not a boot failure', () => {
  const o = classifyBoot(facts(fixture('debian-job-panic.console')));
  assert.deepEqual(o, { result: 'failed', stat: 'job.panic', detail: 'Kernel panic - not syncing: sysrq triggered crash' });
});

test('userspace without a network is boot.no_network, with the runner\'s reason', () => {
  assert.deepEqual(classifyBoot(facts(fixture('debian-no-interface.console'))), { result: 'failed', stat: 'boot.no_network', detail: 'no interface' });
  // Killed at the network deadline: the runner never got to say why.
  const killed = classifyBoot(facts('[ 1.0] Linux version 6.1\nSTACKLAB: init kernel=6.1\n', { exitCode: null, signal: 'SIGKILL', killedFor: 'network' }));
  assert.equal(killed.result === 'failed' && killed.stat, 'boot.no_network');
});

test('a kernel that hangs before userspace is boot.no_init; one that prints nothing is boot.no_output', () => {
  const hang = classifyBoot(facts('Probing EDD (edd=off to disable)... ok\n', { exitCode: null, signal: 'SIGKILL', killedFor: 'boot' }));
  assert.deepEqual(hang, { result: 'failed', stat: 'boot.no_init', detail: 'userspace did not start within the boot deadline' });
  const silent = classifyBoot(facts('', { exitCode: null, signal: 'SIGKILL', killedFor: 'boot' }));
  assert.equal(silent.result === 'failed' && silent.stat, 'boot.no_output');
});

test('qemu that cannot start, or ends on its own with an error, is infra, whatever the console holds', () => {
  assert.equal(classifyBoot(facts('', { spawnError: 'spawn qemu-system-x86_64 ENOENT' })).result, 'infra');
  const bad = classifyBoot(facts('', { exitCode: 1, stderr: "qemu-system-x86_64: -kernel /x: could not load kernel '/x'\n" }));
  assert.deepEqual(bad, { result: 'infra', detail: "qemu failed (exit 1): qemu-system-x86_64: -kernel /x: could not load kernel '/x'" });
  // Killed by someone else (the OOM killer) in the middle of a job: not the kernel's fault.
  const oom = classifyBoot(facts('STACKLAB: init\nSTACKLAB: network up\nSTACKLAB: job start\n', { exitCode: null, signal: 'SIGKILL' }));
  assert.equal(oom.result, 'infra');
});

test('a job past its deadline is a timeout; a machine that stops in the middle is job.incomplete', () => {
  const started = 'STACKLAB: init\nSTACKLAB: network up eth0\nSTACKLAB: job start\n';
  assert.equal(classifyBoot(facts(started, { exitCode: null, signal: 'SIGKILL', killedFor: 'runtime' })).result, 'timeout');
  const stopped = classifyBoot(facts(started + '[ 9.0] reboot: Restarting system\n'));
  assert.equal(stopped.result === 'failed' && stopped.stat, 'job.incomplete');
  // It ran but could not report: the lab's problem, retried.
  assert.equal(classifyBoot(facts(started + 'STACKLAB: job done rc=0\nSTACKLAB: error: upload of output failed\n')).result, 'infra');
});

test('a refusal from the server and the runner\'s own errors are told apart', () => {
  assert.deepEqual(classifyBoot(facts('STACKLAB: init\nSTACKLAB: refused: /api/jobs/3/stage answered 409\n')), { result: 'refused', detail: '/api/jobs/3/stage answered 409' });
  assert.equal(classifyBoot(facts('STACKLAB: init\nSTACKLAB: error: the initramfs holds no /suite/run (no job.cgz?)\n')).result, 'infra');
});

test('markers are found inside lines the kernel interleaved, and only the known ones', () => {
  const m = markers('[    1.2] randomSTACKLAB: job start\nSTACKLAB: jobless\nSTACKLAB: job done rc=3 seconds=1\n');
  assert.deepEqual(m, [{ name: 'job start', rest: '' }, { name: 'job done', rest: 'rc=3 seconds=1' }]);
  assert.equal(panicLine('no panic here'), undefined);
});

test('redact blanks the job credential out of a console', () => {
  const text = fixture('tiny-closed.console');
  assert.ok(text.includes('tok123'), 'the fixture shows the token on the kernel command line');
  assert.ok(!redact(text, 'tok123').includes('tok123'));
});
