// Initrds of a guest job for vm tests: job.cgz as the server packs it
// (job.yaml and suite/ files) and the boot's env initrd.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packEntries } from '../../src/artifacts/cgz.ts';
import { envInitrd } from '../../src/vm/initrd.ts';

/** A lab suite's files (run, parse, …) as job.cgz entries. */
export function suiteEntries(suiteDir: string): { name: string; data: Buffer; mode: number }[] {
  return readdirSync(suiteDir).map((f) => ({ name: `suite/${f}`, data: readFileSync(join(suiteDir, f)), mode: statSync(join(suiteDir, f)).mode & 0o777 }));
}

/** Writes job.cgz and env.cgz for a job into dir; returns their paths in boot order. */
export async function guestJobInitrds(dir: string, o: { id: number; suite: string; files: { name: string; data: Buffer | string; mode: number }[]; env?: Record<string, string> }): Promise<string[]> {
  const job = join(dir, `job-${o.id}.cgz`);
  const env = join(dir, `env-${o.id}.cgz`);
  writeFileSync(job, await packEntries([{ name: 'job.yaml', data: `id: ${o.id}\nsuite: ${o.suite}\n` }, ...o.files]));
  writeFileSync(env, await envInitrd({ ...(o.env ?? {}), STACKLAB_SUITE: o.suite }));
  return [job, env];
}
