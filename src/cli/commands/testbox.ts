// `stacklab testbox`: a testbox agent talking to a scheduler; `testbox enable
// HOST` brings a box the lab took out of dispatch back.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { homedir } from 'node:os';
import type { Command } from 'commander';
import { pino } from 'pino';
import { defaultServerUrl, envTestboxSecret } from '../../config.ts';
import { Agent } from '../../testbox/agent.ts';
import { clientFor, out, printJson, withJson, withServer, type GlobalOptions } from '../common.ts';
import type { Testbox } from '../../api/contract.ts';
import { absolutePath, oneOf, positiveInt, positiveNumber } from '../options.ts';

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
  logLevel: string;
  secret?: string;
  json?: boolean;
}

export function registerTestbox(program: Command): void {
  const testbox = program
    .command('testbox')
    .description('run a testbox agent: register, heartbeat, take jobs and run them')
    .option('--server <url>', 'scheduler URL (default $STACKLAB_SERVER or http://127.0.0.1:3000)')
    .option('--hostname <name>', 'testbox name (default <host>-dc)')
    .option('--type <type>', 'dc (local processes), vm or hw', oneOf(['dc', 'vm', 'hw'] as const), 'dc')
    .option('--arch <arch>', "architecture (default this machine's)")
    .option('--mem <GiB>', "memory the box offers (default this machine's)", positiveNumber)
    .option('--cpus <n>', "cpus (default this machine's)", positiveInt)
    .option('--mac <mac>', 'MAC address a vm or hw box network-boots with (GET /boot.ipxe?mac=)')
    .option('--slots <n>', 'jobs run at once', positiveInt, 1)
    .option('--workdir <dir>', 'where jobs run (default ~/.cache/stacklab/testbox/<hostname>)', absolutePath)
    .option('--keep', "keep each job's directory after it finished")
    .option('--secret <secret>', 'the lab-issued secret to register with, for a lab with accounts on (default $STACKLAB_TESTBOX_SECRET)')
    .option('--log-level <level>', 'log level', 'info')
    .option('--json', 'announce the registration as a JSON line (the log is JSON lines too)')
    .action(async (f: Flags) => {
      const name = f.hostname ?? `${hostname().split('.')[0]}-${f.type}`;
      const agent = new Agent({
        server: f.server ?? defaultServerUrl(),
        hostname: name,
        type: f.type,
        arch: f.arch,
        memory: f.mem,
        cpus: f.cpus,
        slots: f.slots,
        mac: f.mac,
        workdir: f.workdir ?? join(homedir(), '.cache', 'stacklab', 'testbox', name),
        keep: f.keep,
        log: pino({ level: f.logLevel }),
        secret: f.secret ?? envTestboxSecret(),
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
}
