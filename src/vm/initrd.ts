// The initrds of a vm boot: concatenated in order into the one file qemu's
// -initrd takes (the kernel unpacks them one after the other, later files
// over earlier ones, as iPXE's initrd lines do); the boot's own env initrd
// (the suite's environment for the guest runner); and a modules initrd cut
// from an installed kernel, for kernels whose NIC drivers are modules.
import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { packDirectory, packEntries, type PackResult } from '../artifacts/cgz.ts';

const run = promisify(execFile);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Writes the initrds one after the other, each padded to 4 bytes (where the kernel looks for the next archive). */
export async function concatInitrds(files: string[], outFile: string): Promise<number> {
  const out = createWriteStream(outFile);
  await once(out, 'open');
  let size = 0;
  for (const f of files) {
    for await (const chunk of createReadStream(f)) {
      size += (chunk as Buffer).length;
      if (!out.write(chunk)) await once(out, 'drain');
    }
    const pad = (4 - (size % 4)) % 4;
    if (pad) {
      out.write(Buffer.alloc(pad));
      size += pad;
    }
  }
  out.end();
  await once(out, 'close');
  return size;
}

/**
 * The guest runner's /stacklab/env: one `NAME BASE64(value)` line per
 * variable, so that no value is ever shell text in the guest.
 */
export function envFileText(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => {
      if (!NAME.test(k)) throw new Error(`${JSON.stringify(k)} is not an environment variable name`);
      return `${k} ${Buffer.from(v).toString('base64')}\n`;
    })
    .join('');
}

/**
 * The env initrd as a .cgz buffer: stacklab/env (NAME base64 per line) and
 * stacklab/args, the suite's arguments (`suite: "-x 'two words'"`, as a dc
 * box passes them), base64 one per line: the guest decodes both into argv,
 * never into shell text.
 */
export function envInitrd(env: Record<string, string>, args: readonly string[] = []): Promise<Buffer> {
  return packEntries([
    { name: 'stacklab/env', data: envFileText(env), mode: 0o600 },
    { name: 'stacklab/args', data: args.map((a) => `${Buffer.from(a).toString('base64')}\n`).join(''), mode: 0o600 },
  ]);
}

/** modules.dep of a kernel release tree: module path → its dependencies. */
async function moduleDeps(modDir: string): Promise<Map<string, string[]>> {
  const deps = new Map<string, string[]>();
  for (const line of (await readFile(join(modDir, 'modules.dep'), 'utf8')).split('\n')) {
    const [mod, rest] = line.split(':');
    if (mod) deps.set(mod, (rest ?? '').trim().split(/\s+/).filter(Boolean));
  }
  return deps;
}

/**
 * A modules initrd (lib/modules/<release>/…) holding the named modules and
 * everything they depend on, with a modules.dep made by depmod for just
 * those. Default: the NICs qemu offers (virtio-net, e1000).
 */
export async function modulesInitrd(opts: { release: string; outFile: string; modules?: string[]; root?: string }): Promise<PackResult & { modules: string[] }> {
  const root = opts.root ?? '/';
  const modDir = join(root, 'lib', 'modules', opts.release);
  if (!existsSync(join(modDir, 'modules.dep'))) throw new Error(`${modDir} has no modules.dep: is the kernel ${opts.release} installed?`);
  const deps = await moduleDeps(modDir);
  const byName = new Map<string, string>();
  for (const path of deps.keys()) byName.set(path.slice(path.lastIndexOf('/') + 1).replace(/\.ko(\.[a-z]+)?$/, '').replace(/-/g, '_'), path);
  const wanted = new Set<string>();
  const add = (path: string) => {
    if (wanted.has(path)) return;
    wanted.add(path);
    for (const d of deps.get(path) ?? []) add(d);
  };
  for (const name of opts.modules ?? ['virtio_pci', 'virtio_net', 'e1000']) {
    const path = byName.get(name.replace(/-/g, '_'));
    // A driver built into this kernel has no module: nothing to add.
    if (path) add(path);
  }
  const stage = await mkdtemp(join(tmpdir(), 'stacklab-modules-'));
  try {
    const dest = join(stage, 'lib', 'modules', opts.release);
    for (const path of wanted) {
      await mkdir(dirname(join(dest, path)), { recursive: true });
      await copyFile(join(modDir, path), join(dest, path));
    }
    for (const f of ['modules.order', 'modules.builtin', 'modules.builtin.modinfo']) {
      if (existsSync(join(modDir, f))) await copyFile(join(modDir, f), join(dest, f));
    }
    await run('depmod', ['-b', stage, opts.release]);
    await mkdir(dirname(opts.outFile), { recursive: true });
    const r = await packDirectory(stage, opts.outFile);
    return { ...r, modules: [...wanted].sort() };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/** The installed kernels: release and vmlinuz path, newest last (by file time). */
export async function installedKernels(bootDir = '/boot'): Promise<{ release: string; vmlinuz: string }[]> {
  const out: { release: string; vmlinuz: string; mtime: number }[] = [];
  for (const f of await readdir(bootDir).catch(() => [] as string[])) {
    if (!f.startsWith('vmlinuz-')) continue;
    const vmlinuz = join(bootDir, f);
    out.push({ release: f.slice('vmlinuz-'.length), vmlinuz, mtime: (await stat(vmlinuz)).mtimeMs });
  }
  return out.sort((a, b) => a.mtime - b.mtime).map(({ release, vmlinuz }) => ({ release, vmlinuz }));
}
