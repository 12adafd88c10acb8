// compass-ci's `_pkgbuild_source`: the recipe comes from a git repository at
// a ref (`URL` or `URL#ref`, default its HEAD) instead of the lab's
// recipes/. The repository's PKGBUILD (at its root, or under <pkg>/) is
// exported at the resolved commit and snapshotted by content like any lab
// recipe, so the build key counts exactly the recipe that runs.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { UserError } from '../errors.ts';
import { git, type GitResolver } from './git.ts';
import { treeSha256 } from './digest.ts';
import { snapshotTree } from './snapshot.ts';

export interface RecipeSource {
  url: string;
  ref: string;
}

/** `URL#ref` → its parts (the ref defaults to HEAD). */
export function parseRecipeSource(value: string): RecipeSource {
  const hash = value.lastIndexOf('#');
  return hash > 0 ? { url: value.slice(0, hash), ref: value.slice(hash + 1) || 'HEAD' } : { url: value, ref: 'HEAD' };
}

/** Digests of exported recipe trees: a commit's tree never changes, so once known, always right. */
const exported = new Map<string, { digest: string; dir: string }>();

/** The recipe at that source's commit, snapshotted: its digest and snapshot directory. */
export async function recipeFromSource(gitr: GitResolver, snapshots: string, pkg: string, src: RecipeSource): Promise<{ sha: string; digest: string; dir: string }> {
  const sha = await gitr.resolve(src.url, src.ref);
  const memo = `${src.url}\0${sha}\0${pkg}`;
  const hit = exported.get(memo);
  if (hit && existsSync(hit.dir)) return { sha, ...hit };
  const mirror = gitr.mirror(src.url);
  const listing = () => git(['ls-tree', '-r', '--name-only', sha], { cwd: mirror });
  // The mirror may not exist yet (ls-remote answered) or may predate the commit: fetch once and look again.
  const files = (await listing().catch(async () => (await gitr.fetch(src.url), listing()))).split('\n');
  const tmp = join(snapshots, 'tmp', `recipe-${process.pid}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const sub = files.includes('PKGBUILD') ? '' : files.includes(`${pkg}/PKGBUILD`) ? pkg : undefined;
    if (sub === undefined) throw new UserError('bad_lab', `${src.url} at ${src.ref} has no PKGBUILD (at its root or under ${pkg}/)`);
    await extract(mirror, sha, sub, tmp);
    const root = sub ? join(tmp, sub) : tmp;
    const digest = treeSha256(root);
    const dir = snapshotTree(snapshots, root, digest);
    exported.set(memo, { digest, dir });
    return { sha, digest, dir };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** `git archive <sha> [sub]` unpacked into dir by tar, no shell between them. */
async function extract(mirror: string, sha: string, sub: string, dir: string): Promise<void> {
  const archive = spawn('git', ['archive', '--format=tar', sha, ...(sub ? ['--', sub] : [])], { cwd: mirror, stdio: ['ignore', 'pipe', 'pipe'] });
  const tar = spawn('tar', ['-x', '-f', '-', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
  archive.stdout.pipe(tar.stdin);
  let stderr = '';
  archive.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [[a], [t]] = (await Promise.all([once(archive, 'close'), once(tar, 'close')])) as [[number | null], [number | null]];
  if (a !== 0 || t !== 0) throw new Error(`cannot export the recipe at ${sha}: ${stderr.trim()}`);
}
