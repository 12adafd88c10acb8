// `stacklab schema job`: the job file's JSON Schema (no server needed).
import type { Command } from 'commander';
import { JobFileSchema } from '../../jobfile/index.ts';
import { UserError } from '../../errors.ts';
import { printJson } from '../common.ts';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('print a JSON Schema (job: the job file)')
    .argument('<what>', 'job')
    .option('--json', '(the schema is always JSON)')
    .action((what: string) => {
      if (what !== 'job') throw new UserError('bad_usage', `unknown schema ${what}; try: stacklab schema job`);
      printJson(JobFileSchema);
    });
}
