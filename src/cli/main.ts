// The `stacklab` command: builds the commander program from one module per
// command and maps errors to exit codes (0 ok, 1 failed, 2 bad usage/input,
// 3 the server cannot be reached).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { ServerError, UnreachableError } from '../api/client.ts';
import { UserError, FailureError } from '../errors.ts';
import { commandsFor, type RegisterCommand } from './commands/index.ts';

/** The exit status when no server answers at the URL (distinct from 1, failed, and 2, bad usage). */
export const EXIT_UNREACHABLE = 3;

/** stacklab's version, from its package.json. */
export function version(): string {
  const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function buildProgram(commands: readonly RegisterCommand[]): Command {
  const program = new Command('stacklab')
    .description('test-lab scheduler: software-stack builds, testboxes, results and bisection')
    .version(version(), '-V, --version', 'print the version and exit')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/**
 * A reader that stops reading (`stacklab job show 1 | head -1`) closes our
 * stdout: the next write fails with EPIPE. That is not an error of ours, so
 * stop quietly, as cat does.
 */
export function exitQuietlyOnEpipe(stream: NodeJS.WriteStream = process.stdout): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

export async function main(argv: string[]): Promise<number> {
  try {
    const program = buildProgram(await commandsFor(argv));
    await program.parseAsync(argv, { from: 'user' });
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    return reportError(err);
  }
}

/** What to do about an unreachable server, after what happened. */
export function unreachableMessage(err: UnreachableError): string {
  return `stacklab: ${err.message} — is \`stacklab up\` (or \`stacklab server\`) running there? set --server or STACKLAB_SERVER`;
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
  if (err instanceof UnreachableError) {
    process.stderr.write(`${unreachableMessage(err)}\n`);
    return EXIT_UNREACHABLE;
  }
  if (err instanceof ServerError) {
    process.stderr.write(`stacklab: ${err.message} (the server's log says more)\n`);
    return 1;
  }
  const e = err as NodeJS.ErrnoException;
  process.stderr.write(`stacklab: ${e?.stack ?? String(err)}\n`);
  return 1;
}
