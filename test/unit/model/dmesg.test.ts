// src/model/dmesg.ts: kernel errors in a kernel log as lkp-style dmesg.* stats.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { bisectByErrorCommand, dmesgStats, kernelErrors, lineErrorId } from '../../../src/model/dmesg.ts';

describe('a kernel error line becomes an id that is the same wherever it happens again', () => {
  const cases: [string, string][] = [
    ['Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)', 'Kernel_panic-not_syncing:VFS:Unable_to_mount_root_fs_on_unknown-block(#,#)'],
    ['Kernel panic - not syncing: No init given: pass init= on the kernel command line.', 'Kernel_panic-not_syncing:No_init_given:pass_init=on_the_kernel_command_line'],
    ['Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100', 'Kernel_panic-not_syncing:Attempted_to_kill_init!exitcode='],
    ['WARNING: CPU: 0 PID: 1 at fs/proc/meminfo.c:40 meminfo_proc_show+0x25/0x4a0', 'WARNING:at_fs/proc/meminfo.c:#meminfo_proc_show'],
    ['WARNING: CPU: 3 PID: 4711 at drivers/gpu/drm/drm_vblank.c:1234 drm_wait_one_vblank.isra.0+0x1a/0x2b0 [drm]', 'WARNING:at_drivers/gpu/drm/drm_vblank.c:#drm_wait_one_vblank'],
    ['WARNING: possible circular locking dependency detected', 'WARNING:possible_circular_locking_dependency_detected'],
    ['BUG: kernel NULL pointer dereference, address: 0000000000000008', 'BUG:kernel_NULL_pointer_dereference,address'],
    ['BUG: unable to handle page fault for address: ffffc90000a3f000', 'BUG:unable_to_handle_page_fault_for_address'],
    ['watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [swapper/0:1]', 'BUG:soft_lockup-CPU##stuck_for#s'],
    ['BUG: KASAN: slab-out-of-bounds in kmalloc_oob_right+0x6a/0x3c0', 'BUG:KASAN:slab-out-of-bounds_in_kmalloc_oob_right'],
    ['BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580', 'BUG:sleeping_function_called_from_invalid_context_at_kernel/locking/mutex.c'],
    ['BUG: scheduling while atomic: swapper/0/1/0x00000002', 'BUG:scheduling_while_atomic'],
    ['BUG: Bad page state in process kworker/1:2  pfn:12345', 'BUG:Bad_page_state'],
    ['kernel BUG at mm/slub.c:379!', 'kernel_BUG_at_mm/slub.c'],
    ['invalid opcode: 0000 [#1] PREEMPT SMP NOPTI', 'invalid_opcode'],
    ['Oops: 0002 [#1] PREEMPT SMP NOPTI', 'Oops'],
    ['general protection fault, probably for non-canonical address 0xdffffc0000000000: 0000 [#1] PREEMPT SMP KASAN NOPTI', 'general_protection_fault'],
    ['RIP: 0010:meminfo_proc_show+0x25/0x4a0', 'RIP:meminfo_proc_show'],
    ['Internal error: Oops: 0000000096000005 [#1] PREEMPT SMP', 'Internal_error:Oops'],
    ['pc : meminfo_proc_show+0x30/0x2b0', 'pc:meminfo_proc_show'],
    ['UBSAN: shift-out-of-bounds in lib/test_ubsan.c:25:13', 'UBSAN:shift-out-of-bounds_in_lib/test_ubsan.c'],
    ['INFO: task kworker/0:1:12 blocked for more than 120 seconds.', 'INFO:task_blocked_for_more_than#seconds'],
    ['rcu: INFO: rcu_preempt self-detected stall on CPU', 'INFO:rcu_preempt_self-detected_stall_on_CPU'],
    ['Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000', 'Unable_to_handle_kernel_NULL_pointer_dereference_at_virtual_address'],
    ['Out of memory: Killed process 123 (stress) total-vm:1234kB, anon-rss:1000kB', 'Out_of_memory:Killed_process'],
  ];
  for (const [line, id] of cases) test(line, () => assert.equal(lineErrorId(line), id));

  test('lines that are no error have none', () => {
    for (const line of ['Linux version 6.1.0-28-amd64 (debian-kernel@lists.debian.org)', 'ACPI: PM: Preparing to enter system sleep state S5', 'reboot: Power down', 'Run /init as init process', 'e1000: BUG fixes applied', 'Call Trace:', ' <TASK>', 'CPU: 0 PID: 1 Comm: swapper/0 Not tainted 6.1.0 #1']) {
      assert.equal(lineErrorId(line), undefined, line);
    }
  });
});

describe('a kernel log gives one stat per error', () => {
  const log = [
    '[    0.000000] Linux version 6.1.192 (stacklab@stacklab) #1 SMP',
    '[    2.104312] ------------[ cut here ]------------',
    '[    2.104530] WARNING: CPU: 1 PID: 97 at fs/proc/meminfo.c:40 meminfo_proc_show+0x25/0x4a0',
    '[    2.104900] Modules linked in:',
    '[    2.105000] CPU: 1 PID: 97 Comm: cat Not tainted 6.1.192 #1',
    '[    2.105100] RIP: 0010:meminfo_proc_show+0x25/0x4a0',
    '[    2.106000] ---[ end trace 0000000000000000 ]---',
    'WARNING: a line of the job itself, on the same console',
    '[    3.204530][    T1] WARNING: CPU: 0 PID: 98 at fs/proc/meminfo.c:40 meminfo_proc_show+0x25/0x4a0',
    '\x1b[0;31m[    4.000001] Kernel panic - not syncing: Fatal exception\x1b[0m',
    '[    4.000100] ---[ end Kernel panic - not syncing: Fatal exception ]---',
  ].join('\r\n');

  test('the same warning twice is one id; the job’s own lines on a timestamped console are not the kernel’s', () => {
    assert.deepEqual(dmesgStats(log), {
      'dmesg.WARNING:at_fs/proc/meminfo.c:#meminfo_proc_show': 1,
      'dmesg.RIP:meminfo_proc_show': 1,
      'dmesg.Kernel_panic-not_syncing:Fatal_exception': 1,
    });
    assert.equal(kernelErrors(log).get('WARNING:at_fs/proc/meminfo.c:#meminfo_proc_show'), 'WARNING: CPU: 1 PID: 97 at fs/proc/meminfo.c:40 meminfo_proc_show+0x25/0x4a0', 'the first line that showed it');
  });

  test('a log without timestamps (CONFIG_PRINTK_TIME off) is read line by line as it is', () => {
    assert.deepEqual(dmesgStats('Booting\nBUG: kernel NULL pointer dereference, address: 0000000000000000\nok\n'), { 'dmesg.BUG:kernel_NULL_pointer_dereference,address': 1 });
  });

  test('a clean boot has none, and a kernel that warns in a loop makes at most 100', () => {
    assert.deepEqual(dmesgStats('[    0.000000] Linux version 6.1.0\n[    1.000000] Run /init as init process\n'), {});
    const loop = Array.from({ length: 500 }, (_, i) => `[    1.000000] WARNING: CPU: 0 PID: 1 at drivers/x${i}.c:1 f${String.fromCharCode(97 + (i % 26))}${i}+0x1/0x2`).join('\n');
    assert.equal(Object.keys(dmesgStats(loop)).length, 100);
  });

  test("a log is anybody's text: an id holds no quote, backslash, space or control character, so the printed --errid '…' stays one word", () => {
    const hostile = [
      "[    1.000000] WARNING: CPU: 0 PID: 1 at fs/x'$(touch /tmp/p)'.c:1 f+0x1/0x2",
      "[    1.000000] kernel BUG at a'b\\c\x07d.c:3!",
      "[    1.000000] RIP: 0010:f+0x1/0x2",
      `[    1.000000] WARNING: CPU: 0 PID: 1 at ${'p/'.repeat(200)}x.c:1 f+0x1/0x2`,
    ].join('\n');
    const ids = Object.keys(dmesgStats(hostile));
    assert.equal(ids.length, 4);
    for (const k of ids) {
      assert.match(k, /^[\w\-.,:;#!=+/()[\]~%@]+$/, k);
      assert.ok(k.length <= 200, k);
    }
  });

  test('the bisect command is printed only for a stat that is safe to paste (stats.json is a testbox upload)', () => {
    const job = { id: 7, deps: [{ pkg: 'linux' }, { pkg: 'perf' }] };
    assert.equal(bisectByErrorCommand(job, 'dmesg.Oops'), "stacklab bisect start job-7.yaml --pkg linux --good GOOD-COMMIT --errid 'dmesg.Oops' --wait");
    assert.equal(bisectByErrorCommand(job, "dmesg.x'; rm -rf ~; '"), undefined);
    assert.equal(bisectByErrorCommand(job, 'dmesg.a b'), undefined);
  });

  test('an id is bounded, so that its stat fits bisect --errid', () => {
    const long = `[    1.000000] BUG: ${'very long message '.repeat(40)}`;
    for (const k of Object.keys(dmesgStats(long))) assert.ok(k.length <= 200, k);
  });
});
