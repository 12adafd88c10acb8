// What a vm boot came to, read from its serial console (pure). The guest
// runner (guest/init) prints `STACKLAB: …` markers; the kernel prints its
// own panic line. A boot that never reached the job is a test result (the
// kernel's fault: failed, with an lkp-style boot stat), qemu that could
// not start is the lab's (infra: retried), and a guest that closed the job
// itself needs nothing more from the host.

import type { BootStat } from '../model/dmesg.ts';

export type { BootStat };

export interface BootFacts {
  console: string;
  /** qemu's exit; null code with a signal when it was killed. */
  exitCode: number | null;
  signal: string | null;
  /** Why the host killed qemu, if it did ('poweroff': the guest said so but qemu lingered). */
  killedFor?: 'boot' | 'network' | 'runtime' | 'abort' | 'poweroff' | undefined;
  /** qemu could not be spawned at all (ENOENT, EACCES). */
  spawnError?: string | undefined;
  /** qemu's own stderr (its errors, never the guest's). */
  stderr: string;
}

export type BootOutcome =
  /** The guest ran the job and closed it: the host only tidies up. */
  | { result: 'closed'; health: string; rc: number | null; detail: string }
  /** The server refused the guest's report (the job is no longer this box's). */
  | { result: 'refused'; detail: string }
  /** The kernel under test did not get the job done: close `failed` with this stat. */
  | { result: 'failed'; stat: BootStat; detail: string }
  /** The job ran past its runtime. */
  | { result: 'timeout'; detail: string }
  /** The lab's own failure (qemu, the runner, the upload path): retry, never evidence. */
  | { result: 'infra'; detail: string }
  | { result: 'aborted'; detail: string };

export const MARK = 'STACKLAB: ';

/** The runner's markers in order: [name, rest of line]. */
export function markers(console: string): { name: string; rest: string }[] {
  const out: { name: string; rest: string }[] = [];
  for (const line of console.split(/\r?\n/)) {
    const at = line.indexOf(MARK);
    if (at < 0) continue;
    const text = line.slice(at + MARK.length).trim();
    const m = /^(init|network up|no network|job start|job done|closed|refused|error|poweroff)\b:?\s*(.*)$/.exec(text);
    if (m) out.push({ name: m[1]!, rest: m[2]! });
  }
  return out;
}

const PANIC = /Kernel panic - not syncing:?\s*(.*)/;

/** The first panic line and its offset in the console, if the kernel panicked. */
export function panicLine(console: string): { at: number; line: string } | undefined {
  const m = PANIC.exec(console);
  if (!m) return undefined;
  return { at: m.index, line: `Kernel panic - not syncing: ${m[1]!.replace(/\s*]?\s*$/, '').trim()}` };
}

const firstLine = (s: string) => s.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';

export function classifyBoot(f: BootFacts): BootOutcome {
  if (f.spawnError) return { result: 'infra', detail: `qemu could not start: ${f.spawnError}` };
  const text = f.console;
  const marks = markers(text);
  const seen = (name: string) => marks.find((m) => m.name === name);
  const closed = seen('closed');
  if (closed) {
    const health = /health=(\S+)/.exec(closed.rest)?.[1] ?? 'unknown';
    const rc = Number(/rc=(-?\d+)/.exec(seen('job done')?.rest ?? '')?.[1] ?? NaN);
    return { result: 'closed', health, rc: Number.isFinite(rc) ? rc : null, detail: `the guest closed the job (${health})` };
  }
  const refused = seen('refused');
  if (refused) return { result: 'refused', detail: refused.rest };
  if (f.killedFor === 'abort') return { result: 'aborted', detail: 'stopped' };
  // With -no-reboot a guest's power-off, reboot, panic or triple fault all end qemu with 0:
  // any other end we did not cause is qemu's (a bad option, a missing file, the OOM killer).
  if (!f.killedFor && f.exitCode !== 0) return { result: 'infra', detail: `qemu failed (${f.exitCode === null ? `signal ${f.signal}` : `exit ${f.exitCode}`}): ${firstLine(f.stderr) || 'no message'}` };
  if (text.trim() === '') return { result: 'failed', stat: 'boot.no_output', detail: 'the kernel printed nothing on the console' };
  const start = text.indexOf(`${MARK}job start`);
  const panic = panicLine(text);
  if (panic) {
    const during = start >= 0 && panic.at > start;
    return { result: 'failed', stat: during ? 'job.panic' : 'boot.panic', detail: panic.line };
  }
  if (start >= 0) {
    if (f.killedFor === 'runtime') return { result: 'timeout', detail: 'the job ran past its runtime; qemu was killed' };
    if (seen('job done')) return { result: 'infra', detail: `the guest ran the job but could not report it: ${seen('error')?.rest ?? 'no close'}` };
    return { result: 'failed', stat: 'job.incomplete', detail: 'the machine stopped during the job' };
  }
  const error = seen('error');
  if (error) return { result: 'infra', detail: `the guest runner failed: ${error.rest}` };
  if (seen('init')) {
    const why = seen('no network')?.rest ?? (f.killedFor ? 'no answer from the server in time' : 'the machine stopped before the network came up');
    return { result: 'failed', stat: 'boot.no_network', detail: why };
  }
  return { result: 'failed', stat: 'boot.no_init', detail: f.killedFor ? 'userspace did not start within the boot deadline' : 'the machine stopped before userspace started' };
}

/** The console as it may be shown in results: the job's credential blanked out. */
export function redact(console: string, secret: string | undefined): string {
  return secret ? console.split(secret).join('<redacted>') : console;
}
