// `stacklab testboxes`: the testboxes the scheduler knows and what they do.
import type { Command } from 'commander';
import type { Testbox } from '../../api/contract.ts';
import { clientFor, out, printJson, table, withJson, withServer, type GlobalOptions } from '../common.ts';

export function registerTestboxes(program: Command): void {
  withJson(withServer(program.command('testboxes')))
    .description('testboxes with their state and the jobs they hold')
    .action(async (f: GlobalOptions) => {
      const boxes = await clientFor(f).get<Testbox[]>('/api/testboxes');
      if (f.json) return printJson(boxes);
      if (boxes.length === 0) return out('no testboxes registered');
      out(table(['hostname', 'type', 'arch', 'mem', 'cpus', 'state', 'jobs', 'last heartbeat'], boxes.map((b) => [b.hostname, b.type, b.arch, `${b.max_memory}G`, b.cpus, b.state, b.jobs.join(',') || null, b.last_heartbeat])));
      for (const b of boxes) {
        const env = Object.entries(b.build_env);
        if (env.length) out(`${b.hostname}: builds with ${env.map(([k, v]) => `${k}=${v}`).join(' ')} (its --build-env: not in the build key; a build parameter of the same name wins)`);
      }
      for (const b of boxes) if (b.disabled_reason) out(`${b.hostname}: out of dispatch: ${b.disabled_reason} (stacklab testbox enable ${b.hostname}, or a passing stacklab testbox health-check ${b.hostname} JOBFILE)`);
    });
}
