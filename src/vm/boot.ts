// One vm boot, start to end: size the machine from the testbox group,
// choose KVM or TCG, concatenate the initrds, run qemu as its own process
// group with the serial console captured to a file, enforce the boot,
// network and runtime deadlines by killing the group, and classify how it
// ended (console.ts). Nothing here talks to the scheduler: the caller
// (the vm runtime of the agent) decides what the outcome means for the job.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { cpus as osCpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { killGroup } from '../util/process-group.ts';
import { classifyBoot, MARK, type BootFacts, type BootOutcome } from './console.ts';
import { concatInitrds } from './initrd.ts';
import { chooseAccel, type KvmProbe } from './kvm.ts';
import { machineSize, type HostLimits, type MachineSize } from './machine.ts';
import { consoleArg, qemuBinary, qemuCommand, type Accel, type Nic } from './qemu.ts';

/** What the guest runner needs to reach the server and report on its job. */
export interface GuestJob {
  /** As the guest sees it: http://10.0.2.2:<port> under user-mode networking. */
  server: string;
  job: number;
  testbox: string;
  /** The per-job credential; sent by the guest as `Authorization: Bearer`. */
  token?: string | undefined;
  runtimeSec: number;
  /** stacklab_ip: 'dhcp' or 'ADDR/NN,GW' (default the user-mode network's static address). */
  ip?: string | undefined;
}

export interface Deadlines {
  /** From start until the guest runner says `init`. */
  bootMs: number;
  /** From `init` until it says `network up`. */
  networkMs: number;
  /** From `job start` until the guest closed (the runtime plus upload time). */
  jobMs: number;
  /** From the guest's `poweroff` until qemu must be gone. */
  poweroffMs?: number;
}

export interface VmBootRequest {
  arch: string;
  /** The testbox group (vm-2p8g): the machine's size. */
  group: string;
  kernel: string;
  /** Local files, in boot order (os image, modules, job.cgz, packages, env). */
  initrds: string[];
  /** Kernel arguments of the boot description, before ours. */
  append?: string[];
  guest?: GuestJob | undefined;
  /** Directory for initrd.img and the console. */
  workDir: string;
  deadlines: Deadlines;
  accel?: Accel | 'auto';
  nic?: Nic;
  binary?: string;
  host?: HostLimits;
  signal?: AbortSignal | undefined;
  /** A file recording qemu's pid (qemu runs in workDir), so a restarted agent can reap a machine a dead one left. */
  pidFile?: string | undefined;
  /** Called for every runner marker as it appears on the console. */
  onMarker?: (name: string, rest: string, ms: number) => void;
}

export interface VmBootResult {
  outcome: BootOutcome;
  consoleFile: string;
  command: { command: string; args: string[] };
  accel: Accel;
  probe?: KvmProbe | undefined;
  size: MachineSize & { capped: boolean };
  /** Milliseconds from qemu's start to each marker's first appearance, and to its exit (whole ms: two can be equal). */
  timeline: Record<string, number>;
  /** Why the host killed qemu, if it did; undefined when qemu ended by itself. */
  killedFor?: BootFacts['killedFor'];
  durationMs: number;
}

const MAX_CONSOLE = 32 * 1024 * 1024;

export const hostLimits = (): HostLimits => ({ cpus: osCpus().length, memoryMiB: Math.floor(totalmem() / 1024 ** 2) });

/** The kernel command line: console and panic handling, the description's arguments, then the guest runner's. */
export function kernelCmdline(arch: string, append: string[], guest: GuestJob | undefined): string {
  const args = [consoleArg(arch), 'panic=-1', ...append];
  if (guest) {
    args.push(`stacklab_server=${guest.server}`, `stacklab_job=${guest.job}`, `stacklab_testbox=${guest.testbox}`, `stacklab_runtime=${guest.runtimeSec}`);
    if (guest.token) args.push(`stacklab_token=${guest.token}`);
    if (guest.ip) args.push(`stacklab_ip=${guest.ip}`);
  }
  for (const a of args) if (/\s/.test(a) || a === '') throw new Error(`kernel argument ${JSON.stringify(a)} is empty or has white space`);
  return args.join(' ');
}

export async function bootVm(req: VmBootRequest): Promise<VmBootResult> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  await mkdir(req.workDir, { recursive: true });
  const size = machineSize(req.group, req.host ?? hostLimits());
  const binary = req.binary ?? qemuBinary(req.arch);
  let accel: Accel = 'tcg';
  let probe: KvmProbe | undefined;
  if ((req.accel ?? 'auto') === 'auto') ({ accel, probe } = await chooseAccel(req.arch, binary));
  else accel = req.accel as Accel;
  const initrd = join(req.workDir, 'initrd.img');
  if (req.initrds.length) await concatInitrds(req.initrds, initrd);
  const cmd = qemuCommand({
    arch: req.arch,
    accel,
    cpus: size.cpus,
    memoryMiB: size.memoryMiB,
    kernel: req.kernel,
    initrd: req.initrds.length ? initrd : undefined,
    append: kernelCmdline(req.arch, req.append ?? [], req.guest),
    nic: req.nic,
    name: req.guest ? `stacklab-job-${req.guest.job}` : 'stacklab-vm',
    binary,
  });
  const consoleFile = join(req.workDir, 'console.log');
  const out = createWriteStream(consoleFile);
  await once(out, 'open');
  const timeline: Record<string, number> = {};
  const chunks: Buffer[] = [];
  let kept = 0;
  let stderr = '';
  let pending = '';
  let killedFor: BootFacts['killedFor'];

  const child = spawn(cmd.command, cmd.args, { detached: true, cwd: req.workDir, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<{ code: number | null; signal: string | null; spawnError?: string }>((resolve) => {
    child.on('error', (e) => resolve({ code: null, signal: null, spawnError: e.message }));
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  if (req.pidFile && child.pid) await writeFile(req.pidFile, String(child.pid));
  let timer: NodeJS.Timeout | undefined;
  const kill = (why: NonNullable<typeof killedFor>) => {
    killedFor ??= why;
    killGroup(child.pid, 'SIGKILL');
  };
  /** One deadline at a time: each marker moves it to the next phase's. */
  const arm = (afterMs: number, why: NonNullable<typeof killedFor>) => {
    clearTimeout(timer);
    timer = setTimeout(() => kill(why), afterMs);
  };
  const d = req.deadlines;
  const onLine = (line: string) => {
    const at = line.indexOf(MARK);
    if (at < 0) return;
    const text = line.slice(at + MARK.length).trim();
    const name = /^(init|network up|no network|job start|job done|closed|refused|error|poweroff)\b/.exec(text)?.[1];
    if (!name) return;
    timeline[name] ??= ms();
    req.onMarker?.(name, text.slice(name.length).replace(/^:?\s*/, ''), ms());
    if (name === 'init') arm(d.networkMs, 'network');
    else if (name === 'network up') arm(d.jobMs + d.networkMs, 'runtime'); // the guest's own reports before the job are short
    else if (name === 'job start') arm(d.jobMs, 'runtime');
    else if (name === 'poweroff') arm(d.poweroffMs ?? 15_000, 'poweroff');
  };
  child.stdout?.on('data', (c: Buffer) => {
    if (kept < MAX_CONSOLE) {
      const part = c.subarray(0, MAX_CONSOLE - kept);
      chunks.push(part);
      kept += part.length;
      out.write(part);
    }
    pending += c.toString('latin1');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) onLine(l);
  });
  child.stderr?.on('data', (c: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += c.toString();
  });
  arm(d.bootMs, 'boot');
  const onAbort = () => kill('abort');
  req.signal?.addEventListener('abort', onAbort, { once: true });
  if (req.signal?.aborted) onAbort();
  const end = await exited;
  clearTimeout(timer);
  req.signal?.removeEventListener('abort', onAbort);
  killGroup(child.pid, 'SIGKILL'); // nothing of the machine outlives it
  // 'exit' can come before the last of the console has been read: drain it (bounded), or a
  // final marker (poweroff) and the console's last lines would be lost or seen after the exit
  await drained(child.stdout, 2_000);
  if (pending) onLine(pending);
  timeline.exit = ms();
  out.end();
  await once(out, 'close').catch(() => {});
  const outcome = classifyBoot({
    console: Buffer.concat(chunks).toString('latin1'),
    exitCode: end.code,
    signal: end.signal,
    killedFor,
    spawnError: end.spawnError,
    stderr,
  });
  return { outcome, consoleFile, command: cmd, accel, probe, size, timeline, killedFor, durationMs: ms() };
}

/** Resolves once the stream has closed, or after `ms` whatever happens. */
async function drained(stream: NodeJS.ReadableStream & { closed?: boolean } | null, ms: number): Promise<void> {
  if (!stream || stream.closed) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([once(stream, 'close').catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
