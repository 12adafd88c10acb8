// The os image a vm job boots (SPEC §6): `os`/`os_arch`/`os_version` name
// a directory under <srv>/initrd/osimage/, as compass-ci lays them out,
// whose `current` link names the image. The assignment carries it as an
// artifact reference (URL, size, sha256), so the testbox fetches and checks
// it through its artifact cache like any ss artifact. Hashes are kept per
// file: an image's name carries its hash, so a new image is a new file.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ArtifactRef } from '../api/contract.ts';
import { osImagePath } from '../artifacts/layout.ts';
import type { JobRow } from '../store/jobs.ts';
import type { Ctx } from './context.ts';

const hashes = new Map<string, { mtime: number; sha256: string }>();

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The os image of this job's os, arch and version, or null when the lab has none (`stacklab osimage` makes one). */
export async function osImageFor(ctx: Ctx, row: Pick<JobRow, 'os' | 'arch' | 'os_version'>): Promise<ArtifactRef | null> {
  const rel = osImagePath(row.os, row.arch, row.os_version, 'current');
  const file = await realpath(join(ctx.config.srvDir, rel)).catch(() => undefined);
  if (!file) return null;
  const st = await stat(file);
  let known = hashes.get(file);
  if (!known || known.mtime !== st.mtimeMs) {
    known = { mtime: st.mtimeMs, sha256: await sha256Of(file) };
    hashes.set(file, known);
  }
  const name = basename(file);
  return {
    pkg: 'osimage',
    build_key: `osimage-${known.sha256}`,
    name: 'os.cgz',
    url: osImagePath(row.os, row.arch, row.os_version, name),
    size: st.size,
    sha256: known.sha256,
  };
}
