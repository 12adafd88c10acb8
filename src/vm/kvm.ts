// Whether KVM really runs guests here. /dev/kvm existing is not enough (on
// some hosts a KVM guest hangs without a word), so the probe boots a few
// bytes of guest code under KVM that print one character on the serial port
// and stop the machine, with a hard deadline. Decided once per process and
// binary; TCG is always the fallback.
import { spawn } from 'node:child_process';
import { accessSync as fsAccessSync, constants, existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killGroup } from '../util/process-group.ts';
import type { Accel } from './qemu.ts';
import { installedKernels } from './initrd.ts';
import { hostArch } from '../config.ts';

const le32 = (...words: number[]) => {
  const b = Buffer.alloc(words.length * 4);
  words.forEach((w, i) => b.writeUInt32LE(w >>> 0, i * 4));
  return b;
};

/**
 * x86: a multiboot image (a.out kludge, loaded at 1 MiB) whose code writes
 * 'K' to COM1 and 0x31 to isa-debug-exit, so qemu exits with (0x31 << 1) | 1.
 */
function x86Probe(accel: Accel): { image: Buffer; args: string[]; ok: (code: number | null, out: string) => boolean } {
  const MAGIC = 0x1badb002;
  const FLAGS = 0x00010000;
  const LOAD = 0x100000;
  const header = le32(MAGIC, FLAGS, -(MAGIC + FLAGS), LOAD, LOAD, 0, 0, LOAD + 32);
  const code = Buffer.from([
    0x66, 0xba, 0xf8, 0x03, // mov dx, 0x3f8
    0xb0, 0x4b, //             mov al, 'K'
    0xee, //                   out dx, al
    0xb0, 0x31, //             mov al, 0x31
    0xe6, 0xf4, //             out 0xf4, al  (isa-debug-exit)
    0xf4, //                   hlt
    0xeb, 0xfd, //             jmp hlt
  ]);
  return {
    image: Buffer.concat([header, code]),
    args: ['-machine', `pc,accel=${accel}`, ...(accel === 'kvm' ? ['-cpu', 'host'] : []), '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04'],
    ok: (code, out) => code === 99 && out.includes('K'),
  };
}

/** arm64 virt: a bare image that stores 'K' into the PL011 and asks PSCI for SYSTEM_OFF. */
function arm64Probe(accel: Accel): { image: Buffer; args: string[]; ok: (code: number | null, out: string) => boolean } {
  const image = le32(
    0xd2a12001, // movz x1, #0x0900, lsl #16   (PL011 at 0x09000000)
    0x52800960, // movz w0, #'K'
    0x39000020, // strb w0, [x1]
    0x52800100, // movz w0, #0x0008
    0x72b08000, // movk w0, #0x8400, lsl #16   (PSCI SYSTEM_OFF)
    0xd4000002, // hvc #0
    0x14000000, // b .
  );
  return { image, args: ['-machine', `virt,accel=${accel}`, '-cpu', accel === 'kvm' ? 'host' : 'cortex-a57'], ok: (code, out) => code === 0 && out.includes('K') };
}

export interface KvmProbe {
  usable: boolean;
  reason: string;
  ms: number;
}

interface ProbeRun {
  code: number | null;
  out: string;
  err: string;
  timedOut: boolean;
  spawnError?: string;
}

/** Runs qemu with a hard deadline, its group killed at the end whatever happened. */
async function runBounded(binary: string, args: string[], timeoutMs: number): Promise<ProbeRun> {
  const child = spawn(binary, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('latin1')));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const r = await new Promise<Omit<ProbeRun, 'out' | 'err'>>((resolve) => {
    const timer = setTimeout(() => {
      killGroup(child.pid, 'SIGKILL');
      resolve({ code: null, timedOut: true });
    }, timeoutMs);
    child.on('error', (e) => (clearTimeout(timer), resolve({ code: null, timedOut: false, spawnError: e.message })));
    child.on('exit', (code) => (clearTimeout(timer), resolve({ code, timedOut: false })));
  });
  killGroup(child.pid, 'SIGKILL');
  return { ...r, out, err };
}

const BASE = ['-nodefaults', '-no-user-config', '-display', 'none', '-monitor', 'none', '-no-reboot', '-serial', 'stdio'];

/**
 * Runs the probe: the code stub, then (given a kernel) a real kernel boot
 * without a root file system, which must reach its own panic and reboot.
 * On this kind of host the stub passes and Linux hangs under KVM, so only
 * the kernel boot is conclusive; without one the stub's answer stands.
 */
export async function probeKvm(opts: { arch: string; binary: string; kernel?: string | undefined; timeoutMs?: number; accel?: Accel }): Promise<KvmProbe> {
  const started = performance.now();
  const timeoutMs = opts.timeoutMs ?? 5000;
  const done = (usable: boolean, reason: string): KvmProbe => ({ usable, reason, ms: Math.round(performance.now() - started) });
  const accel = opts.accel ?? 'kvm';
  if (accel === 'kvm' && !existsSync('/dev/kvm')) return done(false, 'no /dev/kvm');
  const probe = opts.arch === 'x86_64' ? x86Probe(accel) : opts.arch === 'aarch64' ? arm64Probe(accel) : undefined;
  if (!probe) return done(false, `no KVM probe for ${opts.arch}`);
  const dir = await mkdtemp(join(tmpdir(), 'stacklab-kvm-probe-'));
  try {
    const image = join(dir, 'probe.bin');
    await writeFile(image, probe.image);
    const r = await runBounded(opts.binary, [...BASE, ...probe.args, '-m', '64M', '-kernel', image], timeoutMs);
    if (r.spawnError) return done(false, `cannot run ${opts.binary}: ${r.spawnError}`);
    if (r.timedOut) return done(false, `the probe code did not finish under ${accel} within ${timeoutMs} ms`);
    if (!probe.ok(r.code, r.out)) return done(false, `the probe code misbehaved (exit ${r.code}, console ${JSON.stringify(r.out.slice(0, 40))}${r.err ? `, ${r.err.trim().split('\n').at(-1)}` : ''})`);
    if (!opts.kernel) return done(true, `probe code ran under ${accel} (no kernel to boot for a full probe)`);
    const machine = opts.arch === 'x86_64' ? ['-machine', `q35,accel=${accel}`] : probe.args;
    const append = opts.arch === 'x86_64' ? 'console=ttyS0 panic=-1' : 'console=ttyAMA0 panic=-1';
    const k = await runBounded(opts.binary, [...BASE, ...machine, '-m', '256M', '-kernel', opts.kernel, '-append', append], timeoutMs);
    if (k.spawnError) return done(false, `cannot run ${opts.binary}: ${k.spawnError}`);
    if (k.timedOut) return done(false, `${opts.kernel} did not reach its panic under ${accel} within ${timeoutMs} ms (${k.out.includes('Linux version') ? 'it started' : 'not a line from it'})`);
    if (k.code !== 0 || !k.out.includes('Kernel panic')) return done(false, `${opts.kernel} misbehaved under ${accel} (exit ${k.code})`);
    return done(true, `${opts.kernel} booted to its panic under ${accel}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const cache = new Map<string, Promise<KvmProbe>>();

/**
 * KVM when the probe shows it works for this binary, else TCG; probed once
 * per process. `kernel`: a kernel of the arch for the full probe (default:
 * the newest /boot/vmlinuz-* when the arch is the host's).
 */
export async function chooseAccel(arch: string, binary: string, kernel?: string): Promise<{ accel: Accel; probe: KvmProbe }> {
  const key = `${arch}:${binary}`;
  let p = cache.get(key);
  if (!p) cache.set(key, (p = (async () => probeKvm({ arch, binary, kernel: kernel ?? (await hostKernel(arch)) }))()));
  const probe = await p;
  return { accel: probe.usable ? 'kvm' : 'tcg', probe };
}

async function hostKernel(arch: string): Promise<string | undefined> {
  if (arch !== hostArch()) return undefined;
  const kernels = (await installedKernels()).filter((k) => accessSync(k.vmlinuz));
  return kernels.at(-1)?.vmlinuz;
}

function accessSync(file: string): boolean {
  try {
    fsAccessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
