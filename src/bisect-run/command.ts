// Running the user's test command in a worktree, and reading what it said:
// its exit status (git bisect run's convention) or, for perf, its
// `NAME: number` lines. Its whole output (stdout and stderr as they came)
// goes to a log file when asked, and to a live listener for -v.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { UserError } from '../errors.ts';
import { killGroup } from '../util/process-group.ts';

export interface CommandRun {
  /** null when the command was killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** The last few KiB of stderr, for error messages. */
  stderrTail: string;
  /** The last few KiB of all output, stdout and stderr interleaved as they came. */
  tail: string;
  /** Wall time in ms. */
  ms: number;
}

export interface OutputOptions {
  /** Write all output to this file (created or truncated). */
  log?: string;
  /** Every chunk of output as it arrives. */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
}

const TAIL = 4096;

/** Runs `argv` in `cwd` in its own process group, so an abort can stop all of it. */
export function runCommand(argv: readonly string[], cwd: string, signal: AbortSignal, out: OutputOptions = {}): Promise<CommandRun> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new UserError('bad_command', 'no command to run'));
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const log = out.log === undefined ? null : createWriteStream(out.log);
    let stdout = '';
    let stderr = '';
    let tail = '';
    const take = (stream: 'stdout' | 'stderr') => (d: string) => {
      if (stream === 'stdout') stdout += d;
      else stderr = (stderr + d).slice(-TAIL);
      tail = (tail + d).slice(-TAIL);
      log?.write(d);
      out.onOutput?.(d, stream);
    };
    child.stdout.setEncoding('utf8').on('data', take('stdout'));
    child.stderr.setEncoding('utf8').on('data', take('stderr'));
    const kill = (): void => {
      if (child.exitCode === null) killGroup(child.pid, 'SIGTERM');
    };
    signal.addEventListener('abort', kill, { once: true });
    child.on('error', (err: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', kill);
      log?.end();
      reject(err.code === 'ENOENT' ? new UserError('bad_command', `command not found: ${file}`) : err);
    });
    child.on('close', (code, sig) => {
      signal.removeEventListener('abort', kill);
      const done = (): void => resolve({ code, signal: sig, stdout, stderrTail: stderr, tail, ms: performance.now() - started });
      if (log) log.end(done);
      else done();
    });
  });
}

export type RunVerdict = { kind: 'good' } | { kind: 'bad' } | { kind: 'skip' } | { kind: 'abort'; why: string };

/** git bisect run's reading of an exit status: 0 good, 125 skip, 1–127 bad, else abort. */
export function readExit(run: CommandRun): RunVerdict {
  if (run.code === null) return { kind: 'abort', why: `was killed by ${run.signal ?? 'a signal'}` };
  if (run.code === 0) return { kind: 'good' };
  if (run.code === 125) return { kind: 'skip' };
  if (run.code >= 1 && run.code <= 127) return { kind: 'bad' };
  return { kind: 'abort', why: `exited with ${run.code} (128 or more)` };
}

/** Every `NAME: number` line of the output, in order. */
export function readMetric(stdout: string, name: string): number[] {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const line = new RegExp(`^\\s*${escaped}\\s*:\\s*([-+]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][-+]?\\d+)?)\\s*$`);
  const out: number[] = [];
  for (const l of stdout.split('\n')) {
    const m = line.exec(l);
    if (m) out.push(Number(m[1]));
  }
  return out;
}
