// `stacklab bisect …`: the command group, and `bisect run`, the local
// bisect of a repository with a test command (SPEC §7, §8). The lab's
// `bisect start/show/wait` join the same group through bisectGroup().
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { UserError } from '../../errors.ts';
import { absolutePath, oneOf, positiveInt, probability } from '../options.ts';
import { bisectRun } from '../../bisect-run/run.ts';
import { evidenceRows } from '../../bisect/evidence.ts';
import { plotSvg } from '../../bisect/plot.ts';
import type { Direction } from '../../bisect/types.ts';
import { formatReport, roundLine, runLine } from '../bisect-report.ts';

/** The `bisect` command of `program`, created on first use. */
export function bisectGroup(program: Command): Command {
  return program.commands.find((c) => c.name() === 'bisect') ?? program.command('bisect').description('find the commit that introduced a regression');
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
  confidence?: number;
  budget?: number;
  falsePositives?: boolean;
  deterministic?: boolean;
  interleaveEnds?: boolean;
  firstParent?: boolean;
  confirm: boolean;
  logDir?: string;
  plot?: string;
  verbose?: boolean;
  json?: boolean;
}

export function registerBisect(program: Command): void {
  bisectGroup(program)
    .command('run')
    .description('bisect a local repository with a test command, like git bisect run (exit 0 good, 125 skip, 1-127 bad); a test that fails only sometimes is expected')
    .requiredOption('--bad <ref>', 'a bad commit')
    .option('--good <ref>', 'a good commit (repeatable)', collect, [])
    .option('--repo <dir>', 'the git repository', '.')
    .option('-j, --jobs <k>', 'runs at once, each in its own worktree', positiveInt, 1)
    .option('--confidence <p>', 'stop when the most likely first bad commit has this probability (default: 0.95)', probability)
    .option('--budget <n>', 'runs in all before the most likely commit is reported as a best guess (default: 50 + 30 per halving of the candidates)', positiveInt)
    .option('--false-positives', 'the test may also fail before the first bad commit (at a lower rate)')
    .option('--deterministic', 'the test always fails after the first bad commit: git bisect\'s cost, and a flaky run is reported as a contradiction')
    .option('--metric <name>', 'perf: the command prints "NAME: number" lines; its exit status only says whether it ran')
    .option('--direction <dir>', 'perf: which direction is better, lower or higher', oneOf(['lower', 'higher'] as const))
    .option('--interleave-ends', 'perf: a fresh sample of each end every round, for a machine whose speed drifts during the bisect')
    .option('--repeat <n>', 'runs per probe (perf: initial samples)', positiveInt)
    .option('--max-runs <n>', 'runs at most per commit (perf: before it counts as skipped)', positiveInt)
    .option('--first-parent', 'follow only the first parent of merges')
    .option('--no-confirm', 'perf, --deterministic: do not run the culprit\'s parent again at the end')
    .option('--log-dir <dir>', 'keep each run\'s output here (default: a new directory under the system temp dir)', absolutePath)
    .option('--plot <file.svg>', 'also draw the evidence as an SVG')
    .option('-v, --verbose', 'stream each run\'s output')
    .option('--json', 'print the result as JSON')
    .argument('<command...>', 'the test command and its arguments (after --)')
    .action(async (command: string[], flags: RunFlags) => {
      if (flags.good.length === 0) throw new UserError('bad_usage', 'at least one --good commit is needed');
      if (flags.direction !== undefined && flags.direction !== 'lower' && flags.direction !== 'higher') throw new UserError('bad_usage', '--direction must be lower or higher');
      const progress = !flags.json;
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
          confidence: flags.confidence,
          budget: flags.budget,
          falsePositives: flags.falsePositives,
          deterministic: flags.deterministic,
          interleaveEnds: flags.interleaveEnds,
          firstParent: flags.firstParent,
          confirm: flags.confirm,
          logDir: flags.logDir,
          signal: abort.signal,
          onStart: progress ? (dir) => process.stderr.write(`logs: ${dir}\n`) : undefined,
          onRound: progress ? (round, probes, st) => process.stderr.write(`${roundLine(round, probes, st, flags.confidence)}\n`) : undefined,
          onRun: progress ? (run, obs, done, total) => process.stderr.write(`${runLine(run, obs, done, total)}\n`) : undefined,
          // -v: the test's own output, each line marked with its run
          onOutput: flags.verbose ? (run, chunk) => process.stderr.write(chunk.replace(/^(?=.)/gm, `  [${run.seq} ${run.sha.slice(0, 8)}] `)) : undefined,
        });
        const r = out.result;
        if (flags.plot) await writeFile(flags.plot, plotSvg(evidenceRows(r, out.dag, out.subjects), r, out.spec.metric ? { metric: out.spec.metric } : {}));
        process.stdout.write(
          flags.json
            ? `${JSON.stringify({ ...r, log_dir: out.logDir }, null, 2)}\n`
            : formatReport(r, out.spec, out.subjects, { dag: out.dag, logDir: out.logDir, ...(out.culpritRun ? { culpritRun: out.culpritRun } : {}) }),
        );
        // exit 1 unless a culprit was found at the confidence asked for
        if (r.first_bad === null || r.stop === 'budget') process.exitCode = 1;
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
