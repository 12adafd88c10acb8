// The `stacklab` command: builds the commander program from one module per
// command and maps errors to exit codes (0 ok, 1 failed, 2 bad usage/input).
import { Command, CommanderError } from 'commander';
import { UserError, FailureError } from '../errors.ts';
import { commands } from './commands/index.ts';

function buildProgram(): Command {
  const program = new Command('stacklab')
    .description('test-lab scheduler: software-stack builds, testboxes, results and bisection')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    return reportError(err);
  }
}

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander has already printed the message (or help) to stderr.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return 2;
  }
  if (err instanceof UserError) {
    process.stderr.write(`stacklab: ${err.message}\n`);
    return 2;
  }
  if (err instanceof FailureError) {
    process.stderr.write(`stacklab: ${err.message}\n`);
    return 1;
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ECONNREFUSED') {
    process.stderr.write(`stacklab: cannot reach the server (${e.message}); is \`stacklab server\` running?\n`);
    return 1;
  }
  process.stderr.write(`stacklab: ${e?.stack ?? String(err)}\n`);
  return 1;
}

