// The testbox's artifact cache: every ss artifact is downloaded by URL once
// per build key, checked against the sha256 the scheduler recorded, and
// unpacked once. A file whose sha256 does not match is deleted and refused.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiClient } from '../api/client.ts';

/** What fetches a file: the API client, or a reporter that tries again while the server is away. */
export type Downloader = Pick<ApiClient, 'download'>;
import { unpack } from '../artifacts/cgz.ts';
import type { ArtifactRef } from '../api/contract.ts';

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export class ArtifactCache {
  readonly dir: string;
  readonly #inflight = new Map<string, Promise<string>>();

  constructor(dir: string) {
    this.dir = dir;
  }

  #once(id: string, fn: () => Promise<string>): Promise<string> {
    let p = this.#inflight.get(id);
    if (!p) {
      p = fn().finally(() => this.#inflight.delete(id));
      this.#inflight.set(id, p);
    }
    return p;
  }

  /** The verified local file of an artifact, downloading it if needed. */
  file(client: Downloader, a: ArtifactRef): Promise<string> {
    const target = join(this.dir, a.build_key, a.name);
    return this.#once(target, async () => {
      if (existsSync(target) && (await sha256Of(target)) === a.sha256) return target;
      await mkdir(join(this.dir, a.build_key), { recursive: true });
      const tmp = `${target}.part-${process.pid}`;
      await client.download(a.url, tmp);
      const got = await sha256Of(tmp);
      if (got !== a.sha256) {
        await rm(tmp, { force: true });
        throw new Error(`artifact ${a.url} has sha256 ${got}, the scheduler recorded ${a.sha256}: refused`);
      }
      await rename(tmp, target);
      return target;
    });
  }

  /** The unpacked tree of a .cgz artifact (shared by the jobs that use it: treat it as read-only). */
  tree(client: Downloader, a: ArtifactRef): Promise<string> {
    const root = join(this.dir, a.build_key, `${a.name}.d`);
    return this.#once(root, async () => {
      if (existsSync(join(root, '.stacklab-complete'))) return root;
      const file = await this.file(client, a);
      await rm(root, { recursive: true, force: true });
      await mkdir(root, { recursive: true });
      await unpack(file, root);
      await writeFile(join(root, '.stacklab-complete'), a.sha256);
      return root;
    });
  }
}

/** `<pkg>_root` as an environment variable name: characters a shell cannot use become '_'. */
const rootVar = (pkg: string) => `${pkg.replace(/[^A-Za-z0-9_]/g, '_')}_root`;

/**
 * The environment a suite gets for its ss packages (SPEC §3): `<pkg>_root`
 * for each, and their bin/ and lib/ (also usr/bin, usr/lib, where makepkg
 * recipes install) first on PATH and LD_LIBRARY_PATH.
 */
export function packageEnv(env: Record<string, string>, roots: { pkg: string; root: string }[]): Record<string, string> {
  const out = { ...env };
  const bins: string[] = [];
  const libs: string[] = [];
  for (const { pkg, root } of roots) {
    out[rootVar(pkg)] = root;
    bins.push(join(root, 'bin'), join(root, 'usr', 'bin'));
    libs.push(join(root, 'lib'), join(root, 'usr', 'lib'));
  }
  if (roots.length > 0) {
    out.PATH = [...bins, out.PATH ?? '/usr/bin:/bin'].join(':');
    out.LD_LIBRARY_PATH = [...libs, ...(out.LD_LIBRARY_PATH ? [out.LD_LIBRARY_PATH] : [])].join(':');
  }
  return out;
}
