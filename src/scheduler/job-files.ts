// Files the scheduler writes for a job: job.yaml in its result root, the job
// as it will run, for people and for reruns (written when a testbox takes it).
// Submitted again it is a rerun of the same software: each ss package's
// commit is the sha the job was built at (the ref it was asked as beside it,
// in a comment), so a branch that moved on does not change what runs.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Document, isMap, isScalar } from 'yaml';
import type { Ctx } from './context.ts';
import { depsFor } from './loader.ts';

export async function writeJobYaml(ctx: Ctx, id: number, root: string, job: Record<string, unknown>): Promise<void> {
  const deps = (await depsFor(ctx.store.db, [id])).get(id) ?? [];
  const doc = new Document({ id, ...job, result_root: root });
  for (const { dep, build } of deps) {
    const entry = doc.getIn(['ss', dep.pkg], true);
    if (!isMap(entry)) continue;
    const asked = entry.get('commit', true);
    const ref = isScalar(asked) ? String(asked.value) : 'HEAD';
    if (ref === build.commit) continue;
    entry.set('commit', build.commit);
    const pinned = entry.get('commit', true);
    if (isScalar(pinned)) pinned.comment = ` ${ref}`;
  }
  const dir = join(ctx.config.srvDir, root);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'job.yaml'), doc.toString());
}
