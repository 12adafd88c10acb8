// Files the scheduler writes for a job: job.yaml in its result root, the job
// as it will run, for people and for reruns (written when a testbox takes it).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Ctx } from './context.ts';

export async function writeJobYaml(ctx: Ctx, id: number, root: string, job: Record<string, unknown>): Promise<void> {
  const dir = join(ctx.config.srvDir, root);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'job.yaml'), stringify({ id, ...job, result_root: root }));
}
