// Sizing a vm from its testbox group, the qemu command line and the guest
// runner's environment file: pure functions, checked as a user would read them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { machineSize, requestedSize } from '../../../src/vm/machine.ts';
import { qemuCommand } from '../../../src/vm/qemu.ts';
import { kernelCmdline } from '../../../src/vm/boot.ts';
import { envFileText } from '../../../src/vm/initrd.ts';

const host = { cpus: 2, memoryMiB: 23 * 1024 };

test('vm-<N>p<M>g is N CPUs and M GiB, capped by the host', () => {
  assert.deepEqual(requestedSize('vm-2p8g'), { cpus: 2, memoryMiB: 8192 });
  assert.deepEqual(requestedSize('vm-pxe-4p16g-x'), { cpus: 4, memoryMiB: 16384 });
  assert.equal(requestedSize('vm'), undefined);
  assert.deepEqual(machineSize('vm-2p8g', host), { cpus: 2, memoryMiB: 8192, capped: false });
  assert.deepEqual(machineSize('vm-16p64g', host), { cpus: 2, memoryMiB: Math.floor((23 * 1024 * 3) / 4), capped: true });
  assert.deepEqual(machineSize('vm', host), { cpus: 1, memoryMiB: 1024, capped: false });
});

test('the x86_64 command line: q35, TCG without -cpu, the serial console on stdout, user networking, no reboot', () => {
  const c = qemuCommand({ arch: 'x86_64', accel: 'tcg', cpus: 2, memoryMiB: 8192, kernel: '/k', initrd: '/i', append: 'console=ttyS0,115200 panic=-1' });
  assert.equal(c.command, 'qemu-system-x86_64');
  assert.deepEqual(c.args, [
    '-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-no-reboot',
    '-machine', 'q35,accel=tcg', '-smp', '2', '-m', '8192M', '-kernel', '/k', '-initrd', '/i', '-append', 'console=ttyS0,115200 panic=-1',
    '-serial', 'stdio', '-netdev', 'user,id=net0', '-device', 'virtio-net-pci,netdev=net0',
  ]);
  const kvm = qemuCommand({ arch: 'x86_64', accel: 'kvm', cpus: 1, memoryMiB: 512, kernel: '/k', append: '', nic: 'e1000' }).args.join(' ');
  assert.match(kvm, /-machine q35,accel=kvm -cpu host /);
  assert.match(kvm, /-device e1000,netdev=net0$/);
  assert.doesNotMatch(kvm, /-initrd/);
});

test('the aarch64 command line: virt with a cortex-a57 under TCG', () => {
  const c = qemuCommand({ arch: 'aarch64', accel: 'tcg', cpus: 1, memoryMiB: 1024, kernel: '/Image', append: 'console=ttyAMA0' });
  assert.equal(c.command, 'qemu-system-aarch64');
  assert.match(c.args.join(' '), /-machine virt,accel=tcg -cpu cortex-a57 -smp 1 -m 1024M/);
  assert.throws(() => qemuCommand({ arch: 'mips', accel: 'tcg', cpus: 1, memoryMiB: 1, kernel: '/k', append: '' }), /no vm support for arch mips/);
});

test('the kernel command line carries the guest runner\'s settings after the boot description\'s', () => {
  const line = kernelCmdline('x86_64', ['ip=dhcp', 'rootovl'], { server: 'http://10.0.2.2:3000', job: 42, testbox: 'vm-2p8g-1', token: 't0k', runtimeSec: 300 });
  assert.equal(line, 'console=ttyS0,115200 panic=-1 ip=dhcp rootovl stacklab_server=http://10.0.2.2:3000 stacklab_job=42 stacklab_testbox=vm-2p8g-1 stacklab_runtime=300 stacklab_token=t0k');
  assert.throws(() => kernelCmdline('x86_64', ['a b'], undefined), /white space/);
});

test('the env file holds every value as base64, so no value is shell text in the guest', () => {
  const text = envFileText({ nr_threads: '4', odd: "a'b $(reboot)\nc", empty: '' });
  assert.equal(text, `nr_threads ${Buffer.from('4').toString('base64')}\nodd ${Buffer.from("a'b $(reboot)\nc").toString('base64')}\nempty \n`);
  assert.throws(() => envFileText({ 'bad-name': 'x' }), /not an environment variable name/);
});
