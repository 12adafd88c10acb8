// Initrds of a guest job for vm tests: job.cgz as the server packs it
// (job.yaml and suite/ files) and the boot's env initrd.
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { packEntries } from '../../src/artifacts/cgz.ts';
import { envInitrd, installedKernels } from '../../src/vm/initrd.ts';

/** A lab suite's files (run, parse, …) as job.cgz entries. */
export function suiteEntries(suiteDir: string): { name: string; data: Buffer; mode: number }[] {
  return readdirSync(suiteDir).map((f) => ({ name: `suite/${f}`, data: readFileSync(join(suiteDir, f)), mode: statSync(join(suiteDir, f)).mode & 0o777 }));
}

/** Writes job.cgz and env.cgz for a job into dir; returns their paths in boot order. */
export async function guestJobInitrds(dir: string, o: { id: number; suite: string; files: { name: string; data: Buffer | string; mode: number }[]; env?: Record<string, string> }): Promise<string[]> {
  const job = join(dir, `job-${o.id}.cgz`);
  const env = join(dir, `env-${o.id}.cgz`);
  writeFileSync(job, await packEntries([{ name: 'job.yaml', data: `id: ${o.id}\nsuite: ${o.suite}\n` }, ...o.files]));
  writeFileSync(env, await envInitrd({ ...(o.env ?? {}), STACKLAB_SUITE: o.suite }));
  return [job, env];
}

/**
 * Why vm tests cannot run here ('' when they can): qemu-system-x86_64 and a
 * readable Debian kernel with its modules. Under CI a missing piece is an
 * error, not a skip.
 */
export async function vmMissing(what: string): Promise<{ missing: string; kernel: { release: string; vmlinuz: string } | undefined }> {
  let qemu = true;
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
  } catch {
    qemu = false;
  }
  const kernel = (await installedKernels()).filter((k) => existsSync(join('/lib/modules', k.release, 'modules.dep'))).at(-1);
  let readable = false;
  try {
    if (kernel) accessSync(kernel.vmlinuz, constants.R_OK);
    readable = true;
  } catch {
    readable = false;
  }
  const missing = !qemu
    ? 'qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)'
    : !kernel
      ? 'no Debian kernel in /boot (apt-get install linux-image-amd64)'
      : !readable
        ? `${kernel.vmlinuz} is not readable by this user (Debian installs it 0600)`
        : '';
  if (missing && process.env.CI) throw new Error(`${what} cannot run under CI: ${missing}`);
  if (missing) console.log(`# SKIP ${what}: ${missing}`);
  return { missing, kernel };
}
