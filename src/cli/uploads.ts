// What compass-ci's client does with a config a job names by path: a file on
// this machine is sent with the job (upload_fields: its name, sha256 and
// text), once per request however many jobs of a matrix name it. A value
// that is not a path here is left for the lab (a name under its configs/).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { UserError } from '../errors.ts';

const MAX_BYTES = 16 * 1024 * 1024;

/** Adds upload_fields to every job whose ss.<pkg>.config is a file on this machine; returns the files sent. */
export function attachUploads(jobs: Record<string, unknown>[], cwd = process.cwd()): string[] {
  const sent = new Set<string>();
  const files: string[] = [];
  for (const job of jobs) {
    const ss = job.ss;
    if (!ss || typeof ss !== 'object') continue;
    for (const [pkg, entry] of Object.entries(ss as Record<string, unknown>)) {
      const config = (entry as Record<string, unknown> | null)?.config;
      if (typeof config !== 'string' || !(config.startsWith('/') || config.startsWith('.')) || !config.includes('/')) continue;
      // A rerun's job.yaml records the config it ran with by digest: that one, not the file as it is now.
      if (Object.hasOwn((job.upload_fields as Record<string, unknown> | undefined) ?? {}, `ss.${pkg}.config`)) continue;
      const file = resolve(cwd, config);
      if (!existsSync(file) || !statSync(file).isFile()) continue; // not here: the lab may have it by that name
      const data = readFileSync(file);
      if (data.length > MAX_BYTES) throw new UserError('too_large', `${config} is ${data.length} bytes; a config uploaded with a job may be at most ${MAX_BYTES}`);
      const text = data.toString('utf8');
      if (!Buffer.from(text, 'utf8').equals(data)) throw new UserError('bad_usage', `${config} is not text (UTF-8): it cannot be uploaded as a config`);
      const sha256 = createHash('sha256').update(data).digest('hex');
      const field = `ss.${pkg}.config`;
      const first = !sent.has(sha256);
      sent.add(sha256);
      if (first) files.push(file);
      const fields = ((job.upload_fields as Record<string, unknown> | undefined) ?? {}) as Record<string, unknown>;
      fields[field] = { file_name: basename(file), sha256, ...(first ? { content: text } : {}) };
      job.upload_fields = fields;
    }
  }
  return files;
}
