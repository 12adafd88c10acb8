// `stacklab split FILE… [-o DIR] [--json] [k=v…]`: the counterpart of lkp's
// split-job. Loads and expands job files locally (before the lab's
// defaults: no server is asked) and prints the jobs, or writes one YAML file
// per job into DIR, named as split-job names them.
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../errors.ts';
import { jobYaml } from '../../jobfile/index.ts';
import { out, printJson } from '../common.ts';
import { loadFiles, loadOptions, rawArgsOf, splitArgs, withJobInput, type JobInputFlags } from './job-input.ts';

interface Flags extends JobInputFlags {
  output?: string;
  json?: boolean;
}

/** split-job's names, made unique: lkp would write later jobs of the same name over earlier ones. */
function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((n) => {
    const k = (seen.get(n) ?? 0) + 1;
    seen.set(n, k);
    return k === 1 ? n : n.replace(/\.yaml$/, `~${k}.yaml`);
  });
}

export function registerSplit(program: Command): void {
  const cmd = program
    .command('split')
    .description('expand job files into their jobs as lkp split-job does (before the lab’s defaults); key=value arguments override fields')
    .argument('<args...>', 'job files (lkp-tests or stacklab format) and key=value overrides (dotted ss.linux.commit=v5.11 reaches inside)')
    .option('-o, --output <dir>', 'write one YAML file per job into this directory, named as lkp split-job names them')
    .option('--json', 'print the jobs as JSON: [{file, name, job}]');
  withJobInput(cmd, { layers: false }).action((raw: string[], flags: Flags) => {
    const args = splitArgs(raw);
    const opts = loadOptions(flags, args, rawArgsOf(program), { userDefaults: false, requireSuite: false });
    const files = loadFiles(args, opts);
    const rows = files.flatMap((f) => f.loaded.jobs.map((job, i) => ({ file: f.file, name: f.loaded.names[i]!, job })));
    const names = uniqueNames(rows.map((r) => r.name));
    if (flags.output) {
      try {
        if (!statSync(flags.output).isDirectory()) throw new UserError('bad_usage', `${flags.output} is not a directory`);
      } catch (err) {
        if (err instanceof UserError) throw err;
        mkdirSync(flags.output, { recursive: true });
      }
      rows.forEach((r, i) => {
        const target = join(flags.output!, names[i]!);
        writeFileSync(target, `# ${r.file}\n${jobYaml(r.job)}`);
        if (!flags.json) out(`${r.file} => ${target}`);
      });
    }
    if (flags.json) printJson(rows.map((r, i) => ({ ...r, name: names[i] })));
    else if (!flags.output) rows.forEach((r, i) => out(`${i > 0 ? '---\n' : ''}# ${r.file} => ${names[i]}\n${jobYaml(r.job).trimEnd()}`));
  });
}
