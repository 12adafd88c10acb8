// The os image a vm job boots into: a small initramfs made from Debian
// packages (busybox-static for the tools, bash and the C library for the
// suites, getconf), with stacklab's guest runner as /init. Packages of the
// host's own architecture come from the installed system (no network);
// others are fetched once with `apt-get download` (after `dpkg
// --add-architecture`). Served as compass-ci lays os images out:
// /initrd/osimage/<os>/<arch>/<os_version>/<name>.cgz, with `current`
// naming the newest.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { packDirectory, type PackResult } from '../artifacts/cgz.ts';
import { osImagePath } from '../artifacts/layout.ts';

const run = promisify(execFile);
const GUEST = join(import.meta.dirname, 'guest');

export interface DebPackage {
  name: string;
  /** Only these paths of the package (relative, no leading /); default all but docs. */
  only?: string[];
}

export const DEFAULT_PACKAGES: DebPackage[] = [
  { name: 'busybox-static', only: ['bin/busybox'] },
  { name: 'bash', only: ['bin/bash'] },
  { name: 'libc6' },
  { name: 'libtinfo6' },
  { name: 'libc-bin', only: ['usr/bin/getconf'] },
];

/** Never worth the RAM of a guest. */
const DROP = /^(usr\/share\/(doc|man|info|locale|lintian|bug|doc-base|menu)|usr\/lib\/[^/]+\/gconv|etc\/ld\.so\.conf\.d)(\/|$)/;

export interface OsImageSpec {
  /** stacklab's arch name: x86_64, aarch64. */
  arch: string;
  os: string;
  osVersion: string;
  packages?: DebPackage[];
  /** Where downloaded .deb files are kept (and reused). */
  debCache: string;
}

export const debianArch = (arch: string): string => ({ x86_64: 'amd64', aarch64: 'arm64' })[arch] ?? arch;

async function hostDebArch(): Promise<string> {
  return (await run('dpkg', ['--print-architecture'])).stdout.trim();
}

/** The package's installed file list, or undefined when it is not installed for this arch. */
async function installedFiles(pkg: string, darch: string): Promise<string[] | undefined> {
  try {
    const { stdout: status } = await run('dpkg-query', ['-W', '-f', '${db:Status-Status}', `${pkg}:${darch}`]);
    if (status.trim() !== 'installed') return undefined;
    const { stdout } = await run('dpkg-query', ['-L', `${pkg}:${darch}`]);
    return stdout.split('\n').filter((l) => l.startsWith('/') && l !== '/.');
  } catch {
    return undefined;
  }
}

/** Copies one installed path into the staging tree (directories are made, not copied). */
async function copyInstalled(abs: string, stage: string): Promise<void> {
  const rel = abs.slice(1);
  const dest = join(stage, rel);
  const st = await lstat(abs).catch(() => undefined);
  if (!st) return; // listed but gone (a diverted or removed conffile)
  if (st.isSymbolicLink()) {
    // A usrmerged host turns package directories (/lib, /lib64) into links: the image keeps them directories.
    if ((await stat(abs).catch(() => undefined))?.isDirectory()) return void (await mkdir(dest, { recursive: true }));
    await mkdir(dirname(dest), { recursive: true });
    await rm(dest, { force: true });
    await symlink(await readlink(abs), dest);
  } else if (st.isDirectory()) await mkdir(dest, { recursive: true });
  else if (st.isFile()) {
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(abs, dest);
    await chmod(dest, st.mode & 0o7777);
  }
}

async function walkFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walkFiles(root, r)));
    else out.push(r);
  }
  return out;
}

/** A downloaded package's files, extracted into a scratch directory; returns it. */
async function downloadedTree(pkg: string, darch: string, debCache: string, scratch: string): Promise<string> {
  await mkdir(debCache, { recursive: true });
  const prefix = `${pkg}_`;
  const suffix = `_${darch}.deb`;
  let deb = (await readdir(debCache)).find((f) => f.startsWith(prefix) && f.endsWith(suffix));
  if (!deb) {
    try {
      await run('apt-get', ['download', '-q', `${pkg}:${darch}`], { cwd: debCache, timeout: 300_000 });
    } catch (err) {
      throw new Error(
        `cannot download ${pkg}:${darch} (${((err as { stderr?: string }).stderr || (err as Error).message).trim()}); ` +
          `for a foreign arch first run: dpkg --add-architecture ${darch} && apt-get update`,
      );
    }
    deb = (await readdir(debCache)).find((f) => f.startsWith(prefix) && f.endsWith(suffix));
    if (!deb) throw new Error(`apt-get download ${pkg}:${darch} left no ${prefix}*${suffix} in ${debCache}`);
  }
  const tree = join(scratch, `${pkg}.deb.d`);
  await mkdir(tree, { recursive: true });
  await run('dpkg-deb', ['-x', join(debCache, deb), tree]);
  return tree;
}

/** Moves the chosen paths of an extracted package into the staging tree. */
async function takeFrom(tree: string, pkg: DebPackage, stage: string): Promise<void> {
  for (const rel of await walkFiles(tree)) {
    if (pkg.only ? !pkg.only.includes(rel) : DROP.test(rel)) continue;
    const dest = join(stage, rel);
    await mkdir(dirname(dest), { recursive: true });
    await rm(dest, { force: true });
    await rename(join(tree, rel), dest);
  }
}

async function osRelease(spec: OsImageSpec): Promise<string> {
  const host = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const name = /^NAME="?([^"\n]*)"?$/m.exec(host)?.[1] ?? spec.os;
  return [`NAME="${name}"`, `ID=${spec.os}`, `VERSION_ID="${spec.osVersion}"`, `PRETTY_NAME="${name} ${spec.osVersion} (stacklab initramfs, ${spec.arch})"`, 'VARIANT_ID=stacklab-initramfs', ''].join('\n');
}

/** Stages the image's tree in a directory: the packages' files, /init and a few /etc files. */
export async function stageOsImage(spec: OsImageSpec, stage: string): Promise<void> {
  const darch = debianArch(spec.arch);
  const native = darch === (await hostDebArch());
  const scratch = await mkdtemp(join(tmpdir(), 'stacklab-osimage-'));
  try {
    for (const pkg of spec.packages ?? DEFAULT_PACKAGES) {
      const files = native ? await installedFiles(pkg.name, darch) : undefined;
      if (files) {
        for (const abs of files) {
          const rel = abs.slice(1);
          if (pkg.only ? pkg.only.includes(rel) : !DROP.test(rel)) await copyInstalled(abs, stage);
        }
      } else {
        await takeFrom(await downloadedTree(pkg.name, darch, spec.debCache, scratch), pkg, stage);
      }
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  if (!existsSync(join(stage, 'bin', 'busybox'))) throw new Error('the os image has no bin/busybox: is busybox-static among its packages?');
  await mkdir(join(stage, 'etc', 'stacklab'), { recursive: true });
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'run', 'root', 'result']) await mkdir(join(stage, d), { recursive: true });
  await copyFile(join(GUEST, 'init'), join(stage, 'init'));
  await chmod(join(stage, 'init'), 0o755);
  await copyFile(join(GUEST, 'udhcpc.script'), join(stage, 'etc', 'stacklab', 'udhcpc.script'));
  await chmod(join(stage, 'etc', 'stacklab', 'udhcpc.script'), 0o755);
  await writeFile(join(stage, 'etc', 'os-release'), await osRelease(spec));
  await writeFile(join(stage, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(join(stage, 'etc', 'group'), 'root:x:0:\n');
  await writeFile(join(stage, 'etc', 'hostname'), 'stacklab-guest\n');
  // busybox df and mount read the mount table from /etc/mtab.
  await symlink('/proc/self/mounts', join(stage, 'etc', 'mtab'));
}

/** Makes the os image as one .cgz file. */
export async function buildOsImage(spec: OsImageSpec, outFile: string): Promise<PackResult> {
  const stage = await mkdtemp(join(tmpdir(), 'stacklab-osimage-stage-'));
  try {
    await stageOsImage(spec, stage);
    await mkdir(dirname(outFile), { recursive: true });
    return await packDirectory(stage, outFile);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

export { osImagePath };

/**
 * Builds the image into the server's file tree (<srv>/initrd/osimage/…),
 * named by its content, and points `current` at it.
 */
export async function installOsImage(srvDir: string, spec: OsImageSpec): Promise<{ path: string; currentPath: string; file: string; size: number; sha256: string }> {
  const dir = join(srvDir, osImagePath(spec.os, spec.arch, spec.osVersion, '').slice(1));
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.building-${process.pid}.cgz`);
  const r = await buildOsImage(spec, tmp);
  const name = `stacklab-${r.sha256.slice(0, 12)}.cgz`;
  await rename(tmp, join(dir, name));
  const link = join(dir, `.current-${process.pid}`);
  await rm(link, { force: true });
  await symlink(name, link);
  await rename(link, join(dir, 'current'));
  return { path: osImagePath(spec.os, spec.arch, spec.osVersion, name), currentPath: osImagePath(spec.os, spec.arch, spec.osVersion, 'current'), file: join(dir, name), size: r.size, sha256: r.sha256 };
}
