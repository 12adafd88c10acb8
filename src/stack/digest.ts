// sha256 of a file's content and of a directory tree (relative names, exec
// bits, contents), cached by a stat fingerprint so a submit does not re-read
// unchanged recipes and configs.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const fileCache = new Map<string, { fp: string; digest: string }>();
const dirCache = new Map<string, { fp: string; digest: string }>();

const fingerprint = (path: string) => {
  const st = statSync(path);
  return `${st.size}:${st.mtimeMs}:${st.ino}:${st.mode}`;
};

export function fileSha256(path: string): string {
  const fp = fingerprint(path);
  const hit = fileCache.get(path);
  if (hit && hit.fp === fp) return hit.digest;
  const digest = createHash('sha256').update(readFileSync(path)).digest('hex');
  fileCache.set(path, { fp, digest });
  return digest;
}

function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) out.push(full);
    }
  };
  walk(root);
  return out.sort();
}

/** A tree's digest is trusted this long before its files are looked at again (a recipe is a few files, read on every submit). */
const TREE_CACHE_MS = 1000;
const recent = new Map<string, { at: number; digest: string }>();

/** Digest of a directory: each file's relative name, exec bit and content digest. */
export function treeSha256(root: string): string {
  const now = Date.now();
  const r = recent.get(root);
  if (r && now - r.at < TREE_CACHE_MS) return r.digest;
  const digest = computeTree(root);
  recent.set(root, { at: now, digest });
  return digest;
}

function computeTree(root: string): string {
  const files = listTree(root);
  const fp = files.map((f) => `${f}:${fingerprint(f)}`).join('\n');
  const hit = dirCache.get(root);
  if (hit && hit.fp === fp) return hit.digest;
  const h = createHash('sha256');
  for (const f of files) {
    const exec = (statSync(f).mode & 0o111) !== 0 ? 'x' : '-';
    h.update(`${relative(root, f)}\0${exec}\0${fileSha256(f)}\n`);
  }
  const digest = h.digest('hex');
  dirCache.set(root, { fp, digest });
  return digest;
}
