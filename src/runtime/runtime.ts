// The interface a testbox runtime implements: run one prepared command with
// a time limit and its output captured. `dc` ships as a local process; a
// container engine or qemu would plug in behind the same interface.

export interface RunRequest {
  /** Executable to run (a suite's `run`); never passed through a shell. */
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Kill the run after this many ms. */
  timeoutMs: number;
  /** stdout and stderr, interleaved as they arrive, go to this file. */
  outputFile: string;
  /** Append to outputFile instead of replacing it. */
  appendOutput?: boolean;
  /** A file fed to the command's stdin (default: none). */
  stdinFile?: string;
  /** A file recording the pid, so a restarted agent can reap what a dead one left. */
  pidFile?: string;
  signal?: AbortSignal;
}

export interface RunOutcome {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
}

export interface Runtime {
  readonly name: string;
  run(req: RunRequest): Promise<RunOutcome>;
}
