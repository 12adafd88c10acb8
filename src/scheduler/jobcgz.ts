// job.cgz: the job's own initrd, as lkp-tests packs it — job.yaml and the
// suite's files (run, parse, helpers) under suite/ — so a testbox needs
// nothing from the lab but what it downloads. A pkgbuild job carries its
// recipe (recipe/) and config (config) instead: the snapshots its build key
// was computed from.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { packEntries } from '../artifacts/cgz.ts';
import { NotFoundError, UserError } from '../errors.ts';
import { OPEN, type Caller } from './access.ts';
import { getJob } from '../store/jobs.ts';
import { configSnapshot, recipeSnapshot } from '../stack/snapshot.ts';
import type { Ctx } from './context.ts';
import type { PkgbuildSpec } from '../api/contract.ts';

interface Entry {
  name: string;
  data: Buffer | string;
  mode: number;
}

function treeEntries(root: string, prefix: string): Entry[] {
  const out: Entry[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = join(dir, e.name);
      if (e.isDirectory()) walk(full);
      else if (e.isFile()) out.push({ name: `${prefix}/${relative(root, full)}`, data: readFileSync(full), mode: statSync(full).mode & 0o777 });
    }
  };
  walk(root);
  return out;
}

export async function jobCgz(ctx: Ctx, id: number, caller: Caller = OPEN): Promise<Buffer> {
  const row = await getJob(ctx.store.db, id);
  if (!row) throw new NotFoundError('job', id);
  // A testbox fetches only the jobs it holds; a job's own token only its job; accounts read every job.
  if ((caller.kind === 'testbox' && caller.hostname !== row.assigned) || (caller.kind === 'job' && caller.jobId !== id)) {
    throw new UserError('forbidden', `this token may not fetch job ${id}`, { job_id: id });
  }
  const spec = row.spec;
  const entries: Entry[] = [{ name: 'job.yaml', data: stringify({ id, ...spec, result_root: row.result_root }), mode: 0o644 }];
  const snapshots = join(ctx.config.dataDir, 'snapshots');
  if (row.suite === 'pkgbuild') {
    const b = spec.pkgbuild as PkgbuildSpec;
    entries.push(...treeEntries(recipeSnapshot(snapshots, b.recipe_sha256), 'recipe'));
    if (b.config_sha256) entries.push({ name: 'config', data: readFileSync(configSnapshot(snapshots, b.config_sha256)), mode: 0o644 });
  } else if (ctx.config.lab.hasSuite(row.suite)) {
    entries.push(...ctx.config.lab.suiteFiles(row.suite).map((f) => ({ name: `suite/${f.name}`, data: f.data, mode: f.mode })));
  }
  return packEntries(entries);
}
