// `stacklab testbox`: a testbox agent talking to a scheduler; `testbox enable
// HOST` brings a box the lab took out of dispatch back, `testbox health-check
// HOST JOB` lets a passing job do it.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { homedir } from 'node:os';
import type { Command } from 'commander';
import { pino } from 'pino';
import { envTestboxSecret } from '../../config.ts';
import { HOSTNAME_PATTERN, MAC_PATTERN } from '../../api/contract.ts';
import { Agent } from '../../testbox/agent.ts';
import { clientFor, out, printJson, serverOf, serverOption, withJson, withServer, type GlobalOptions } from '../common.ts';
import type { SubmitResult, Testbox } from '../../api/contract.ts';
import { UserError } from '../../errors.ts';
import { attachUploads } from '../uploads.ts';
import { combined, loadFiles, loadOptions, rawArgsOf, splitArgs, withJobInput, type JobInputFlags } from './job-input.ts';
import { absolutePath, buildEnvPair, logLevel, matching, oneOf, positiveInt, positiveNumber } from '../options.ts';

interface Flags {
  server?: string;
  hostname?: string;
  type: 'dc' | 'vm' | 'hw';
  arch?: string;
  mem?: number;
  cpus?: number;
  slots: number;
  mac?: string;
  workdir?: string;
  keep?: boolean;
  buildEnv?: Record<string, string>;
  logLevel: string;
  secret?: string;
  json?: boolean;
  accel: 'auto' | 'kvm' | 'tcg';
  qemu?: string;
  vmKernel?: string;
  vmModules?: string;
  bootTimeout: number;
}

export function registerTestbox(program: Command): void {
  const testbox = program
    .command('testbox')
    .description('run a testbox agent: register, heartbeat, take jobs and run them')
    .addOption(serverOption())
    .option('--hostname <name>', 'testbox name (default: <this host>-<type>)', matching(HOSTNAME_PATTERN, 'a name of letters, digits, dots, dashes and underscores, starting with a letter or digit'))
    .option('--type <type>', 'dc (local processes), vm or hw', oneOf(['dc', 'vm', 'hw'] as const), 'dc')
    .option('--arch <arch>', "architecture (default: this machine's)", matching(/^[A-Za-z0-9_]{1,32}$/, 'an architecture name such as x86_64 or aarch64'))
    .option('--mem <GiB>', "memory the box offers (default: this machine's)", positiveNumber)
    .option('--cpus <n>', "cpus (default: this machine's)", positiveInt)
    .option('--mac <mac>', 'MAC address a vm or hw box network-boots with (GET /boot.ipxe?mac=)', matching(MAC_PATTERN, 'a MAC address such as 52:54:00:12:34:56'))
    .option('--slots <n>', 'jobs run at once', positiveInt, 1)
    .option('--workdir <dir>', 'where jobs run (default: ~/.cache/stacklab/testbox/<hostname>)', absolutePath)
    .option('--keep', "keep each job's directory after it finished")
    .option('--build-env <NAME=VALUE>', "a variable for every build this box makes (repeatable): how recipes keep what they reuse, such as keep_trees=2 or CCACHE_MAXSIZE=20G; not part of a build key, and a build parameter of the same name wins", buildEnvPair)
    .option('--secret <secret>', 'the lab-issued secret to register with, for a lab with accounts on (default: $STACKLAB_TESTBOX_SECRET)')
    .option('--accel <accel>', 'vm: auto (KVM when a probe guest runs under it), kvm or tcg', oneOf(['auto', 'kvm', 'tcg'] as const), 'auto')
    .option('--qemu <binary>', 'vm: the qemu binary (default: qemu-system-<arch>)')
    .option('--vm-kernel <vmlinuz>', 'vm: the kernel for jobs that build none (default: the newest installed Debian kernel)', absolutePath)
    .option('--vm-modules <cgz>', "vm: that kernel's modules initrd (lib/modules/<release>/…)", absolutePath)
    .option('--boot-timeout <s>', "vm: seconds until the guest's userspace must run", positiveInt, 180)
    .option('--log-level <level>', 'log level: fatal, error, warn, info, debug, trace or silent', logLevel, 'info')
    .option('--json', 'announce the registration as a JSON line (the log is JSON lines too)')
    .action(async (f: Flags) => {
      const name = f.hostname ?? `${hostname().split('.')[0]}-${f.type}`;
      const agent = new Agent({
        server: serverOf(f),
        hostname: name,
        type: f.type,
        arch: f.arch,
        memory: f.mem,
        cpus: f.cpus,
        slots: f.slots,
        mac: f.mac,
        workdir: f.workdir ?? join(homedir(), '.cache', 'stacklab', 'testbox', name),
        keep: f.keep,
        buildEnv: f.buildEnv,
        log: pino({ level: f.logLevel }),
        secret: f.secret ?? envTestboxSecret(),
        vm: { accel: f.accel, qemu: f.qemu, kernel: f.vmKernel, modules: f.vmModules, bootTimeoutS: f.bootTimeout },
      });
      await agent.start();
      if (f.json) printJson({ hostname: name, server: agent.client.base, type: f.type });
      else out(`testbox ${name} registered with ${agent.client.base}`);
      await new Promise<void>((resolve) => {
        const stop = () => void agent.stop().finally(resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  withJson(withServer(testbox.command('enable')))
    .description('bring a testbox taken out of dispatch (too many infrastructure failures in a row) back; an admin, with accounts on')
    .argument('<host>')
    .action(async (host: string, _f: GlobalOptions, cmd: Command) => {
      // testbox's own --server and --json come first: the merged options hold them wherever they were written.
      const f = cmd.optsWithGlobals<GlobalOptions>();
      const b = await clientFor(f).post<Testbox>(`/api/testboxes/${encodeURIComponent(host)}/enable`);
      if (f.json) printJson(b);
      else out(`testbox ${b.hostname} is back in dispatch (${b.state})`);
    });

  withJobInput(withJson(withServer(testbox.command('health-check'))), { layers: false })
    .description('submit a health-check job for one testbox (a job file and key=value overrides): pinned to it, the one job it takes while out of dispatch; when it passes, the box is back in; an admin, with accounts on')
    .argument('<host>')
    .argument('<args...>', 'one job file (YAML) and key=value overrides')
    .action(async (host: string, raw: string[], _f: GlobalOptions, cmd: Command) => {
      const f = cmd.optsWithGlobals<GlobalOptions & JobInputFlags>();
      const args = splitArgs(raw);
      const loaded = combined(loadFiles(args, loadOptions(f, args, rawArgsOf(program), { userDefaults: false, requireSuite: true })));
      if (loaded.jobs.length !== 1) throw new UserError('bad_usage', `a health check is one job; ${args.files.join(', ')} make ${loaded.jobs.length}`);
      attachUploads(loaded.jobs);
      const r = await clientFor(f).post<SubmitResult>(`/api/testboxes/${encodeURIComponent(host)}/health-check`, loaded.jobs[0]);
      if (f.json) printJson(r);
      else out(`health check job ${r.job_id} submitted for testbox ${host}: when it passes, ${host} is back in dispatch (stacklab job show ${r.job_id})`);
    });
}
