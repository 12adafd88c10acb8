// The vm testbox end to end: a real `stacklab server`, the os image made by
// `stacklab osimage`, and `stacklab testbox --type vm` booting Debian's own
// kernel in qemu (TCG) for each job. What a user checks: the job runs in a
// guest of its group's size, its results and stats arrive and it closes
// `success`; an overrun is killed and closes `timeout`; a kernel command
// line that panics closes `failed` with the boot stat and the console in the
// result root; a qemu that cannot start is the lab's failure (`abnormal`),
// never a test result. Skipped with a message where qemu or a Debian kernel
// is missing, except under CI.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../support/tmp.ts';
import { makeLab } from '../support/lab.ts';
import { runCli, startServer, startTestbox, type Proc } from '../support/procs.ts';
import { finished } from '../support/wait.ts';
import { vmMissing } from '../support/vm.ts';
import { ApiClient } from '../../src/api/client.ts';

const { missing, kernel } = await vmMissing('vm testbox tests');

const PROBE = `#!/bin/bash
echo "greeting: 1"
echo "said=$greeting"
echo "cpus: $(getconf _NPROCESSORS_ONLN)"
echo "memory_mib: $(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 ))"
echo "kernel=$(uname -r)"
echo "linux_root=\${linux_root:-none}"
echo kept > "$RESULT_ROOT/note.txt"
[ -n "$warn" ] && echo "<4>WARNING: CPU: 0 PID: $$ at stacklab/probe.c:12 probe_warns+0x1c/0x40" > /dev/kmsg
for a in "$@"; do echo "arg=$a"; done
`;

describe('a vm testbox runs jobs in qemu', { skip: missing || false }, () => {
  const t = tempDir('stacklab-vmbox-');
  let server: Proc & { url: string };
  let box: Proc | undefined;
  let api: ApiClient;
  const data = join(t.dir, 'data');

  before(async () => {
    const lab = makeLab(join(t.dir, 'lab'), {
      policy: { boot_timeout: 120, running_grace: 60, post_run_timeout: 60 },
      suites: { probe: { run: PROBE }, sleeper: { run: '#!/bin/sh\necho going to sleep\nsleep 600\n' } },
    });
    server = await startServer({ data, lab });
    api = new ApiClient(server.url);
    const made = await runCli(['osimage', '--data', data, '--json']);
    assert.equal(made.code, 0, made.stderr);
    assert.match(JSON.parse(made.stdout).currentPath, /^\/initrd\/osimage\/[^/]+\/x86_64\/[^/]+\/current$/);
    box = await startTestbox({ server: server.url, hostname: 'vm-box-1', workdir: join(t.dir, 'box'), extra: ['--type', 'vm', '--accel', 'tcg'] });
  });
  after(async () => {
    await box?.kill();
    await server?.kill();
    t.cleanup();
  });

  const submit = async (job: Record<string, unknown>) => (await api.post<{ job_id: number }[]>('/api/jobs', job))[0]!.job_id;
  const file = (root: string, name: string) => api.raw('GET', `/result/${root.replace(/^\/?result\//, '')}/${name}`).then((r) => r.text());

  test('a job boots, runs in a guest of its group, uploads and closes success', async () => {
    const id = await submit({ suite: 'probe', probe: "one 'two words' $(three)", testbox: 'vm-2p1g', runtime: 60, greeting: "it's $(not) shell", warn: 1 });
    const job = await finished(api, id, 180_000);
    assert.equal(job.job_health, 'success', JSON.stringify(job.timeline));
    assert.equal(job.testbox_host, 'vm-box-1');
    assert.equal(job.stats?.['probe.cpus'], 2, 'vm-2p1g boots with 2 CPUs');
    const mem = job.stats?.['probe.memory_mib'] ?? 0;
    assert.ok(mem > 700 && mem <= 1024, `vm-2p1g boots with 1 GiB (the guest sees ${mem} MiB)`);
    const output = await file(job.result_root, 'output');
    assert.match(output, /^said=it's \$\(not\) shell$/m, 'a job variable arrives as its value');
    assert.deepEqual(output.split('\n').filter((l) => l.startsWith('arg=')), ['arg=one', 'arg=two words', 'arg=$(three)'], "the suite's own value arrives as its arguments, as on a dc box");
    assert.match(output, new RegExp(`^kernel=${kernel!.release.replace(/[.+]/g, '\\$&')}$`, 'm'), "a job with no ss.linux boots the box's default kernel");
    assert.equal(await file(job.result_root, 'note.txt'), 'kept\n');
    assert.match(await file(job.result_root, 'dmesg'), /Linux version/);
    // a warning in the guest's kernel log (printed through /dev/kmsg, as a driver prints one) is its lkp-style stat
    assert.equal(job.stats?.['dmesg.WARNING:at_stacklab/probe.c:#probe_warns'], 1, JSON.stringify(job.stats));
    assert.equal(JSON.parse(await file(job.result_root, 'stats.json'))['dmesg.WARNING:at_stacklab/probe.c:#probe_warns'], 1, 'and in its stats.json');
  });

  test('a job that overruns its runtime is killed and finishes timeout', async () => {
    const id = await submit({ suite: 'sleeper', testbox: 'vm-1p1g', runtime: 5 });
    const job = await finished(api, id, 180_000);
    assert.equal(job.job_health, 'timeout');
    assert.match(await file(job.result_root, 'output'), /going to sleep[\s\S]*killed after runtime 5 s/);
  });

  test('a kernel command line that panics finishes failed with boot.panic and the console', async () => {
    const id = await submit({ suite: 'probe', testbox: 'vm-1p1g', runtime: 60, kernel_cmdline: 'rdinit=/nonexistent' });
    const job = await finished(api, id, 180_000);
    assert.equal(job.job_health, 'failed');
    assert.deepEqual(job.stats, { 'boot.panic': 1, 'dmesg.Kernel_panic-not_syncing:VFS:Unable_to_mount_root_fs_on_unknown-block(#,#)': 1 }, 'the boot stat, and the panic as lkp names it');
    const console = await file(job.result_root, 'console.log');
    assert.match(console, /Kernel panic - not syncing/);
    assert.match(await file(job.result_root, 'output'), /stacklab: boot\.panic: Kernel panic/);
  });

  test('qemu that cannot start is an infrastructure failure, not a test result', async () => {
    await box!.kill();
    box = await startTestbox({ server: server.url, hostname: 'vm-box-2', workdir: join(t.dir, 'box2'), extra: ['--type', 'vm', '--accel', 'tcg', '--qemu', '/nonexistent/qemu-system-x86_64'] });
    const id = await submit({ suite: 'probe', testbox: 'vm-1p1g', runtime: 60 });
    const job = await finished(api, id, 120_000);
    assert.equal(job.job_health, 'abnormal', 'the lab failed, not the kernel');
    const requeues = job.timeline!.filter((e) => e.event === 'requeue');
    assert.equal(requeues.length, 2, 'handed out again twice before it counts as abnormal');
    assert.match(String(requeues[0]!.reason), /could not start it/);
    assert.equal(job.stats?.['boot.panic'], undefined);
    assert.match(await file(job.result_root, 'output'), /infrastructure: qemu could not start/);
  });
});
