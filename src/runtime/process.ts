// The `dc` runtime: the job runs as a local process group in its own
// directory. A timeout or an abort kills the whole group (TERM, then KILL).
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import type { Runtime, RunOutcome, RunRequest } from './runtime.ts';
import { killGroup } from '../util/process-group.ts';

const KILL_GRACE_MS = 3000;


export class ProcessRuntime implements Runtime {
  readonly name = 'process';

  async run(req: RunRequest): Promise<RunOutcome> {
    const started = performance.now();
    // Dropped before it started (the scheduler's word came while the job was
    // still being set up): nothing is started, or it would run its whole length.
    if (req.signal?.aborted) return { exitCode: null, signal: null, timedOut: false, aborted: true, durationMs: 0 };
    const out = createWriteStream(req.outputFile, { flags: req.appendOutput ? 'a' : 'w' });
    await once(out, 'open');
    const stdin = req.stdinFile ? createReadStream(req.stdinFile) : undefined;
    if (stdin) await once(stdin, 'open');
    const child = spawn(req.command, req.args, {
      cwd: req.cwd,
      env: req.env,
      detached: true, // its own process group, so a kill reaches every descendant
      stdio: [stdin ?? 'ignore', out, out],
    });
    // Listen for the exit at once: a quick command can be gone before the next await returns.
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    exited.catch(() => {});
    try {
      await once(child, 'spawn'); // rejects with the error when the command cannot start
    } catch (err) {
      out.end(`stacklab: cannot start ${req.command}: ${(err as Error).message}\n`);
      stdin?.destroy();
      await once(out, 'close');
      return { exitCode: 127, signal: null, timedOut: false, aborted: false, durationMs: performance.now() - started };
    }
    const pid = child.pid!;
    if (req.pidFile) {
      // Written whole or not at all: a reader must never see an empty file (kill(-0) is our own group).
      await writeFile(`${req.pidFile}.tmp`, String(pid));
      await rename(`${req.pidFile}.tmp`, req.pidFile);
    }
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      killGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, req.timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    if (req.signal?.aborted) onAbort(); // aborted while the child was being spawned
    const [exitCode, signal] = await exited;
    clearTimeout(timer);
    req.signal?.removeEventListener('abort', onAbort);
    // Descendants may outlive the group leader; nothing of a finished job runs on.
    killGroup(pid, 'SIGKILL');
    clearTimeout(killTimer);
    out.end();
    stdin?.destroy();
    await once(out, 'close').catch(() => {});
    return { exitCode, signal, timedOut, aborted, durationMs: performance.now() - started };
  }
}
