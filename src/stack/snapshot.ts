// Content-addressed snapshots of recipes and configs, taken at submit. The
// pkgbuild job packs the snapshot whose digest is in its build key, so
// editing a recipe in the lab after a submit can never put one recipe's
// output under another recipe's key.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileSha256, treeSha256 } from './digest.ts';

/** Snapshots known to exist: content-addressed, so once there, always right. */
const known = new Set<string>();

const tmpName = (path: string) => `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;

function publish(tmp: string, final: string): void {
  try {
    renameSync(tmp, final);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(final)) throw err; // another process published the same content first
  }
}

/** The snapshot directory of a recipe with this digest, made if missing. */
export function snapshotTree(root: string, src: string, digest: string): string {
  const final = join(root, 'recipes', digest);
  if (known.has(final) || existsSync(final)) {
    known.add(final);
    return final;
  }
  mkdirSync(join(root, 'recipes'), { recursive: true });
  const tmp = tmpName(final);
  cpSync(src, tmp, { recursive: true, dereference: true });
  if (treeSha256(tmp) !== digest) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`recipe ${src} changed while it was being snapshotted; submit again`);
  }
  publish(tmp, final);
  known.add(final);
  return final;
}

/** The snapshot file of a config with this digest, made if missing. */
export function snapshotFile(root: string, src: string, digest: string): string {
  const final = join(root, 'configs', digest);
  if (known.has(final) || existsSync(final)) {
    known.add(final);
    return final;
  }
  mkdirSync(join(root, 'configs'), { recursive: true });
  const tmp = tmpName(final);
  cpSync(src, tmp, { dereference: true });
  if (fileSha256(tmp) !== digest) {
    rmSync(tmp, { force: true });
    throw new Error(`config ${src} changed while it was being snapshotted; submit again`);
  }
  publish(tmp, final);
  known.add(final);
  return final;
}

/** The snapshot of an uploaded config (its bytes came with the job); refused unless they have the digest they claim. */
export function snapshotContent(root: string, data: Buffer, digest: string): string {
  const final = join(root, 'configs', digest);
  if (known.has(final) || existsSync(final)) {
    known.add(final);
    return final;
  }
  if (createHash('sha256').update(data).digest('hex') !== digest) throw new Error(`the uploaded content does not have sha256 ${digest}`);
  mkdirSync(join(root, 'configs'), { recursive: true });
  const tmp = tmpName(final);
  writeFileSync(tmp, data);
  publish(tmp, final);
  known.add(final);
  return final;
}

export const recipeSnapshot = (root: string, digest: string) => join(root, 'recipes', digest);
export const configSnapshot = (root: string, digest: string) => join(root, 'configs', digest);
