// Artifacts of a pkgbuild job, uploaded by the testbox holding it. The
// server stores each file under the SPEC §4 layout and records the size and
// sha256 it computed itself while writing: never a testbox's word for it.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../errors.ts';
import { ARTIFACT_NAMES, artifactPath, requiredArtifacts, type ArtifactName } from '../artifacts/layout.ts';
import { tboxType } from '../model/lifecycle.ts';
import { getBuild, putBuildFile } from '../store/builds.ts';
import type { Ctx } from './context.ts';
import { heldJob } from './report.ts';
import { OPEN, type Caller } from './access.ts';

interface StoredArtifact {
  name: string;
  path: string;
  size: number;
  sha256: string;
}

export async function saveArtifact(ctx: Ctx, id: number, hostname: string, name: string, body: Readable, caller: Caller = OPEN): Promise<StoredArtifact> {
  const row = await heldJob(ctx, id, hostname, caller);
  if (!row.build_key) throw new UserError('not_a_build', `job ${id} is not a pkgbuild job; only pkgbuild jobs upload artifacts`);
  const build = await getBuild(ctx.store.db, row.build_key);
  if (!build || build.pkgbuild_job !== id) throw new UserError('stale_build_job', `job ${id} is not the current job of build ${row.build_key}`, undefined, 409);
  if (!(ARTIFACT_NAMES as readonly string[]).includes(name) || !requiredArtifacts(build.pkg).includes(name as ArtifactName)) {
    throw new UserError('bad_artifact', `a ${build.pkg} build uploads ${requiredArtifacts(build.pkg).join(', ')}, not ${name}`);
  }
  const path = artifactPath({ ...build, tbox_type: tboxType(build.testbox) }, name as ArtifactName);
  const full = join(ctx.config.srvDir, path);
  await mkdir(dirname(full), { recursive: true });
  const tmp = `${full}.upload-${id}-${Date.now()}`;
  const hash = createHash('sha256');
  let size = 0;
  const max = ctx.config.limits.maxUploadBytes;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      size += chunk.length;
      hash.update(chunk);
      cb(size > max ? new UserError('too_large', `artifact larger than ${max} bytes`, undefined, 413) : null, chunk);
    },
  });
  try {
    await pipeline(body, meter, createWriteStream(tmp));
    await rename(tmp, full);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const stored = { name, path, size, sha256: hash.digest('hex') };
  await putBuildFile(ctx.store.db, { build_key: build.key, name, path, size, sha256: stored.sha256, job_id: id });
  return stored;
}
