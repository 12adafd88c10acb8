// .cgz archives (gzip'd newc cpio): pack a directory or a few in-memory
// files, list and unpack. Unpacking is safe by construction: no absolute
// names, no `..`, nothing written through a symlink, no device files, and an
// optional size cap. Large archives stream; nothing is held whole.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { once } from 'node:events';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip, gunzipSync } from 'node:zlib';
import { dataPadding, encodeHeader, readArchive, S_IFDIR, S_IFLNK, S_IFREG, trailer, type EntryHeader } from './cpio.ts';

export interface PackResult {
  size: number;
  sha256: string;
  files: number;
}

interface Source {
  name: string;
  kind: 'file' | 'dir' | 'symlink';
  perm: number;
  size: number;
  /** A file to stream, in-memory data, or a link target. */
  path?: string;
  data?: Buffer;
}

const byteOrder = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function* archiveChunks(sources: Source[]): AsyncGenerator<Buffer> {
  let ino = 1;
  for (const s of sources) {
    const type = s.kind === 'dir' ? S_IFDIR : s.kind === 'symlink' ? S_IFLNK : S_IFREG;
    const data = s.kind === 'dir' ? undefined : s.data;
    const size = s.kind === 'dir' ? 0 : s.size;
    yield encodeHeader({ name: s.name, mode: type | (s.perm & 0o7777), size, ino: ino++, nlink: s.kind === 'dir' ? 2 : 1 });
    if (data) yield data;
    else if (s.path && s.kind === 'file') {
      let seen = 0;
      for await (const chunk of createReadStream(s.path)) {
        seen += (chunk as Buffer).length;
        if (seen > size) throw new Error(`${s.path} grew while it was being packed`);
        yield chunk as Buffer;
      }
      if (seen !== size) throw new Error(`${s.path} changed size while it was being packed`);
    }
    yield dataPadding(size);
  }
  yield trailer();
}

/** Writes gzip'd chunks to a file, returning the size and sha256 of what was written. */
async function writeCgz(chunks: AsyncGenerator<Buffer>, outFile: string): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  await pipeline(Readable.from(chunks), createGzip({ level: 6 }), tap, createWriteStream(outFile));
  return { size, sha256: hash.digest('hex') };
}

async function walk(root: string, prefix: string): Promise<Source[]> {
  const out: Source[] = [];
  const visit = async (dir: string, rel: string) => {
    const names = (await readdir(dir)).sort(byteOrder);
    for (const n of names) {
      const full = join(dir, n);
      const name = rel ? `${rel}/${n}` : n;
      const st = await lstat(full);
      if (st.isDirectory()) {
        out.push({ name, kind: 'dir', perm: st.mode, size: 0 });
        await visit(full, name);
      } else if (st.isSymbolicLink()) {
        const target = Buffer.from(await readlink(full), 'utf8');
        out.push({ name, kind: 'symlink', perm: 0o777, size: target.length, data: target });
      } else if (st.isFile()) {
        out.push({ name, kind: 'file', perm: st.mode, size: st.size, path: full });
      }
    }
  };
  const parts = prefix.split('/').filter(Boolean);
  parts.forEach((_, i) => out.push({ name: parts.slice(0, i + 1).join('/'), kind: 'dir', perm: 0o755, size: 0 }));
  await visit(root, parts.join('/'));
  return out;
}

/** Packs a directory tree (sorted, deterministic) into a .cgz file. */
export async function packDirectory(dir: string, outFile: string, opts: { prefix?: string } = {}): Promise<PackResult> {
  const sources = await walk(dir, opts.prefix ?? '');
  const r = await writeCgz(archiveChunks(sources), outFile);
  return { ...r, files: sources.filter((s) => s.kind !== 'dir').length };
}

/** A small in-memory .cgz (a job's job.cgz); parents of nested names become directories. */
export async function packEntries(entries: { name: string; data: Buffer | string; mode?: number }[]): Promise<Buffer> {
  const dirs = new Set<string>();
  const sources: Source[] = [];
  for (const e of [...entries].sort((a, b) => byteOrder(a.name, b.name))) {
    const parts = e.name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        sources.push({ name: d, kind: 'dir', perm: 0o755, size: 0 });
      }
    }
    const data = typeof e.data === 'string' ? Buffer.from(e.data) : e.data;
    sources.push({ name: e.name, kind: 'file', perm: e.mode ?? 0o644, size: data.length, data });
  }
  const gz = createGzip({ level: 6 });
  const sink = new PassThrough();
  const parts: Buffer[] = [];
  sink.on('data', (c: Buffer) => parts.push(c));
  await pipeline(Readable.from(archiveChunks(sources)), gz, sink);
  return Buffer.concat(parts);
}

function openSource(source: string | Readable): Readable {
  const raw = typeof source === 'string' ? createReadStream(source) : source;
  const gunzip = createGunzip();
  raw.on('error', (err: Error) => gunzip.destroy(err));
  return raw.pipe(gunzip);
}

export class UnsafeArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeArchiveError';
  }
}

/** An archive name as a path relative to the destination, or a refusal naming it. */
function safeRelative(name: string): string | null {
  let n = name;
  while (n.startsWith('./')) n = n.slice(2);
  if (n === '.' || n === '') return null;
  if (n.startsWith('/')) throw new UnsafeArchiveError(`refused entry ${JSON.stringify(name)}: absolute path`);
  const parts = n.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw new UnsafeArchiveError(`refused entry ${JSON.stringify(name)}: '..' in the path`);
  if (n.includes('\0')) throw new UnsafeArchiveError(`refused entry ${JSON.stringify(name)}: NUL in the name`);
  return parts.join('/');
}

/** Unpacks a .cgz into destDir, safely. */
export async function unpack(source: string | Readable, destDir: string, opts: { maxBytes?: number } = {}): Promise<{ files: number; bytes: number }> {
  const root = resolve(destDir);
  await mkdir(root, { recursive: true });
  const safeDirs = new Set<string>([root]);
  let files = 0;
  let bytes = 0;

  // Every parent of a target must be a real directory inside root (never a symlink).
  const ensureParents = async (target: string, name: string) => {
    const chain: string[] = [];
    for (let d = dirname(target); !safeDirs.has(d); d = dirname(d)) {
      if (d.length <= root.length) throw new UnsafeArchiveError(`refused entry ${JSON.stringify(name)}: outside the destination`);
      chain.unshift(d);
    }
    for (const d of chain) {
      const st = await lstat(d).catch(() => undefined);
      if (st?.isSymbolicLink()) throw new UnsafeArchiveError(`refused entry ${JSON.stringify(name)}: it would be written through the symlink ${d}`);
      if (st && !st.isDirectory()) throw new UnsafeArchiveError(`refused entry ${JSON.stringify(name)}: ${d} is not a directory`);
      if (!st) await mkdir(d);
      safeDirs.add(d);
    }
  };

  await readArchive(openSource(source), async (e, data) => {
    const rel = safeRelative(e.name);
    if (rel === null) return;
    const target = resolve(root, rel);
    if (!target.startsWith(root + sep)) throw new UnsafeArchiveError(`refused entry ${JSON.stringify(e.name)}: outside the destination`);
    await ensureParents(target, e.name);
    const existing = await lstat(target).catch(() => undefined);
    if (e.type === 'dir') {
      if (existing?.isSymbolicLink()) throw new UnsafeArchiveError(`refused entry ${JSON.stringify(e.name)}: a symlink is in its place`);
      if (!existing) await mkdir(target);
      await chmod(target, (e.mode & 0o7777) | 0o700);
      safeDirs.add(target);
      return;
    }
    if (e.type === 'other') throw new UnsafeArchiveError(`refused entry ${JSON.stringify(e.name)}: device, fifo or socket entries are not unpacked`);
    if (existing) await rm(target, { recursive: existing.isDirectory(), force: true });
    if (e.type === 'symlink') {
      await symlink(e.linkTarget ?? '', target);
      return;
    }
    bytes += e.size;
    if (opts.maxBytes !== undefined && bytes > opts.maxBytes) throw new UnsafeArchiveError(`archive larger than ${opts.maxBytes} bytes (at ${JSON.stringify(e.name)})`);
    const out: WriteStream = createWriteStream(target, { flags: 'wx', mode: e.mode & 0o7777 });
    await once(out, 'open');
    await data(async (chunk) => {
      if (!out.write(chunk)) await once(out, 'drain');
    });
    out.end();
    await once(out, 'close');
    await chmod(target, e.mode & 0o7777);
    files++;
  });
  return { files, bytes };
}

/** The entries of a .cgz (data skipped). */
export async function list(source: string | Readable | Buffer): Promise<EntryHeader[]> {
  const stream = Buffer.isBuffer(source) ? Readable.from([gunzipSync(source)]) : openSource(source);
  const out: EntryHeader[] = [];
  await readArchive(stream, async (e) => {
    out.push({ name: e.name, mode: e.mode, type: e.type, size: e.size, mtime: e.mtime, ino: e.ino, nlink: e.nlink });
  });
  return out;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
