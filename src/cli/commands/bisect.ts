// `stacklab bisect …`: the command group, and `bisect run`, the local
// bisect of a repository with a test command (SPEC §7, §8). The lab's
// `bisect start/show/wait` join the same group through bisectGroup().
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { UserError } from '../../errors.ts';
import { bisectRun } from '../../bisect-run/run.ts';
import { formatReport, roundLine } from '../../bisect-run/report.ts';
import type { Direction } from '../../bisect/types.ts';

/** The `bisect` command of `program`, created on first use. */
export function bisectGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'bisect') ?? program.command('bisect').description('find the commit that introduced a regression');
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface RunFlags {
  repo: string;
  good: string[];
  bad: string;
  jobs: number;
  metric?: string;
  direction?: string;
  repeat?: number;
  maxRuns?: number;
  firstParent?: boolean;
  confirm: boolean;
  json?: boolean;
}

export function registerBisect(program: Command): void {
  bisectGroup(program)
    .command('run')
    .description('bisect a local repository with a test command, like git bisect run (exit 0 good, 125 skip, 1-127 bad)')
    .requiredOption('--bad <ref>', 'a bad commit')
    .option('--good <ref>', 'a good commit (repeatable)', collect, [])
    .option('--repo <dir>', 'the git repository', '.')
    .option('-j, --jobs <k>', 'commits probed at once, each in its own worktree', positive, 1)
    .option('--metric <name>', 'perf: the command prints "NAME: number" lines; its exit status only says whether it ran')
    .option('--direction <dir>', 'perf: which direction is better, lower or higher')
    .option('--repeat <n>', 'runs per probe (function: majority; perf: initial samples)', positive)
    .option('--max-runs <n>', 'runs at most per commit before it counts as skipped', positive)
    .option('--first-parent', 'follow only the first parent of merges')
    .option('--no-confirm', 'do not probe the culprit and its parent again at the end')
    .option('--json', 'print the result as JSON')
    .argument('<command...>', 'the test command and its arguments (after --)')
    .action(async (command: string[], flags: RunFlags) => {
      if (flags.good.length === 0) throw new UserError('bad_usage', 'at least one --good commit is needed');
      if (flags.direction !== undefined && flags.direction !== 'lower' && flags.direction !== 'higher') throw new UserError('bad_usage', '--direction must be lower or higher');
      const progress = !flags.json;
      const tty = process.stderr.isTTY === true;
      const abort = new AbortController();
      const onSigint = (): void => abort.abort();
      process.once('SIGINT', onSigint);
      process.once('SIGTERM', onSigint);
      try {
        const out = await bisectRun({
          repo: flags.repo,
          good: flags.good,
          bad: flags.bad,
          command,
          jobs: flags.jobs,
          metric: flags.metric,
          direction: flags.direction as Direction | undefined,
          repeat: flags.repeat,
          maxRuns: flags.maxRuns,
          firstParent: flags.firstParent,
          confirm: flags.confirm,
          signal: abort.signal,
          onRound: progress ? (round, probes, st) => process.stderr.write(`${tty ? '\r\x1b[K' : ''}${roundLine(round, probes, st)}\n`) : undefined,
          onRun: progress && tty ? (sha, _obs, done, total) => process.stderr.write(`\r\x1b[K  ${done}/${total} runs done (last: ${sha.slice(0, 8)})`) : undefined,
        });
        if (progress && tty) process.stderr.write('\r\x1b[K');
        process.stdout.write(flags.json ? `${JSON.stringify(out.result, null, 2)}\n` : formatReport(out.result, out.spec, out.subjects));
        if (out.result.first_bad === null) process.exitCode = 1;
      } catch (err) {
        if (abort.signal.aborted) {
          process.stderr.write('\nstacklab: bisect interrupted; its worktrees were removed\n');
          process.exitCode = 130;
          return;
        }
        throw err;
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });
}
