// Running one assigned job on a vm testbox: fetch every piece of the boot
// (the os image, the kernel and its modules — the job's own linux build or
// the box's default kernel —, job.cgz, the ss packages) through the
// artifact cache, checked against their sha256; write the boot's env
// initrd (the suite's environment as a dc box would give it, every
// `<pkg>_root` being / in the guest); boot qemu (src/vm/boot.ts). The guest
// reports its stages, uploads its results and closes the job itself with
// the job's own credential. When it could not — the kernel panicked, never
// reached the network, the job overran its runtime, qemu did not start —
// the host closes the job with what the boot came to: `failed` with an
// lkp-style boot stat, `timeout`, or `abnormal` for the lab's own failures,
// and the serial console in the result root as dmesg and console.log.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { ArtifactRef, Assignment } from '../api/contract.ts';
import { unpack } from '../artifacts/cgz.ts';
import { suiteEnvironment } from '../jobfile/index.ts';
import { bootVm, type VmBootResult } from '../vm/boot.ts';
import { redact } from '../vm/console.ts';
import { envInitrd, installedKernels, modulesInitrd } from '../vm/initrd.ts';
import type { Accel } from '../vm/qemu.ts';
import { packageEnv } from './artifact-cache.ts';
import type { JobRunContext } from './job-run.ts';

/** The kernel a vm box boots for jobs that build none of their own. */
export interface DefaultKernel {
  vmlinuz: string;
  /** Its NIC drivers as a modules initrd; undefined when they are built in. */
  modules?: string | undefined;
  release?: string | undefined;
}

export interface VmRunOptions {
  /** The server as this host reaches it; the guest reaches a loopback server at 10.0.2.2. */
  server: string;
  /** The box's hostname, which the guest reports as. */
  testbox: string;
  arch: string;
  accel: Accel | 'auto';
  /** qemu binary (default qemu-system-<arch>). */
  qemu?: string | undefined;
  /** Resolves the default kernel (once, on first need). */
  defaultKernel: () => Promise<DefaultKernel | undefined>;
  /** Until the guest's userspace starts. */
  bootTimeoutMs: number;
  /** From userspace until the server answered. */
  networkTimeoutMs: number;
}

/** Seconds a guest gets past its runtime for uploads and its close. */
const UPLOAD_GRACE_S = 120;

/** The server URL as the guest sees it: loopback on the host is 10.0.2.2 under qemu's user-mode network. */
export function guestServerUrl(server: string): string {
  const u = new URL(server);
  if (u.protocol !== 'http:') throw new Error(`a vm guest talks plain http (busybox wget): ${server} cannot be reached from inside; put the lab's http port in reach of the guest`);
  if (u.hostname === '127.0.0.1' || u.hostname === 'localhost' || u.hostname === '[::1]' || u.hostname === '0.0.0.0') u.hostname = '10.0.2.2';
  return u.origin;
}

/**
 * The box's default kernel: an explicit vmlinuz (with its modules initrd,
 * if given), else the newest installed Debian kernel whose modules are
 * installed, with its NIC drivers cut into a modules initrd (kept in cacheDir).
 */
export async function findDefaultKernel(o: { vmlinuz?: string | undefined; modules?: string | undefined; cacheDir: string }): Promise<DefaultKernel | undefined> {
  if (o.vmlinuz) return { vmlinuz: o.vmlinuz, modules: o.modules };
  const k = (await installedKernels()).filter((x) => existsSync(join('/lib/modules', x.release, 'modules.dep'))).at(-1);
  if (!k) return undefined;
  const modules = join(o.cacheDir, 'host-kernel', k.release, 'modules.cgz');
  if (!existsSync(modules)) {
    const tmp = `${modules}.part-${process.pid}`;
    await modulesInitrd({ release: k.release, outFile: tmp });
    await rename(tmp, modules);
  }
  return { vmlinuz: k.vmlinuz, modules, release: k.release };
}

/** What the host closes the job with when the guest did not, and the stats that say why. */
function hostClose(r: VmBootResult): { health: string; stats: Record<string, number>; line: string } | undefined {
  const o = r.outcome;
  if (o.result === 'failed') return { health: 'failed', stats: { [o.stat]: 1 }, line: `${o.stat}: ${o.detail}` };
  if (o.result === 'timeout') return { health: 'timeout', stats: {}, line: o.detail };
  if (o.result === 'infra') return { health: 'abnormal', stats: {}, line: `infrastructure: ${o.detail}` };
  return undefined;
}

/** Runs the job to its close on a vm; the health it closed with, or null if it was stopped or is no longer ours. */
export async function runVmAssignment(a: Assignment, c: JobRunContext, o: VmRunOptions): Promise<string | null> {
  const id = a.job.id;
  const dir = c.dir;
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'tree'), { recursive: true });
  const fail = async (health: string, message: string): Promise<string> => {
    c.log.error({ job: id }, message);
    await writeFile(join(dir, 'output'), `stacklab: ${message}\n`);
    await c.reporter.upload(id, 'output', join(dir, 'output'));
    await c.reporter.close(id, health);
    return health;
  };

  // job.cgz: its job.yaml gives the suite's environment; the guest unpacks the rest.
  const jobCgz = join(dir, 'job.cgz');
  await c.reporter.download(a.job_cgz, jobCgz, c.signal);
  await unpack(jobCgz, join(dir, 'tree'));
  const job = parseYaml(await readFile(join(dir, 'tree', 'job.yaml'), 'utf8')) as Record<string, unknown>;

  if (!a.os_image) return fail('abnormal', `the lab has no os image for ${a.job.os}/${a.job.arch}/${a.job.os_version}: make one with \`stacklab osimage --arch ${a.job.arch} --os ${a.job.os} --os-version ${a.job.os_version}\``);
  const osImage = await c.cache.file(c.reporter, a.os_image);

  let kernel: string | undefined;
  let modules: string | undefined;
  const packages: string[] = [];
  const roots: { pkg: string; root: string }[] = [];
  for (const art of a.artifacts ?? []) {
    const file = await c.cache.file(c.reporter, art as ArtifactRef);
    if (art.name === 'vmlinuz') kernel = file;
    else if (art.name === 'modules.cgz') modules = file;
    else if (art.name === 'pkg.cgz') packages.push(file);
    if (!roots.some((r) => r.pkg === art.pkg)) roots.push({ pkg: art.pkg, root: '/' });
  }
  if (!kernel) {
    const k = await o.defaultKernel();
    if (!k) return fail('abnormal', 'the job builds no kernel and this vm box has none to boot (install linux-image-amd64, or start the box with --vm-kernel)');
    kernel = k.vmlinuz;
    modules = k.modules;
  }

  const vars = suiteEnvironment(job);
  const env = packageEnv({ ...vars.env, STACKLAB_SUITE: a.job.suite }, roots);
  delete env.PATH; // the guest's own PATH; the packages are unpacked at /
  delete env.LD_LIBRARY_PATH;
  const envCgz = join(dir, 'env.cgz');
  await writeFile(envCgz, await envInitrd(env, vars.args));

  const runtimeSec = Number(a.job.runtime ?? 3600);
  const cmdline = typeof job.kernel_cmdline === 'string' ? job.kernel_cmdline.split(/\s+/).filter(Boolean) : [];
  const r = await bootVm({
    arch: o.arch,
    group: a.job.testbox,
    kernel,
    initrds: [osImage, ...(modules ? [modules] : []), jobCgz, ...packages, envCgz],
    append: cmdline,
    guest: { server: guestServerUrl(o.server), job: id, testbox: o.testbox, token: a.job_token, runtimeSec },
    workDir: join(dir, 'vm'),
    deadlines: { bootMs: o.bootTimeoutMs, networkMs: o.networkTimeoutMs, jobMs: (runtimeSec + UPLOAD_GRACE_S) * 1000 },
    accel: o.accel,
    binary: o.qemu,
    signal: c.signal,
    pidFile: join(dir, 'pid'),
    onMarker: (name, rest) => c.log.debug({ job: id, marker: name, rest }, 'guest'),
  });
  c.log.info({ job: id, outcome: r.outcome.result, accel: r.accel, cpus: r.size.cpus, memory_mib: r.size.memoryMiB, seconds: Math.round(r.durationMs / 100) / 10 }, 'vm finished');
  if (r.outcome.result === 'closed') return r.outcome.health;
  if (r.outcome.result === 'refused' || r.outcome.result === 'aborted') return null;

  const close = hostClose(r)!;
  const consoleText = redact(await readFile(r.consoleFile, 'latin1').catch(() => ''), a.job_token);
  const result = join(dir, 'result');
  await mkdir(result, { recursive: true });
  await writeFile(join(result, 'console.log'), consoleText, 'latin1');
  await writeFile(join(result, 'output'), `${consoleText}\nstacklab: ${close.line}\n`, 'latin1');
  await writeFile(join(result, 'stats.json'), JSON.stringify(close.stats, null, 1) + '\n');
  const cmd = [r.command.command, ...r.command.args.map((x) => (x === a.job_token ? '<redacted>' : x))];
  await writeFile(join(result, 'qemu.cmd'), `${redact(cmd.join(' '), a.job_token)}\n`);
  // The box's report, not the guest's: whatever the guest managed to upload stays, except what this replaces.
  for (const f of ['console.log', 'qemu.cmd', 'output', 'stats.json']) await c.reporter.upload(id, f, join(result, f));
  await c.reporter.upload(id, 'dmesg', join(result, 'console.log'));
  await c.reporter.close(id, close.health);
  return close.health;
}
