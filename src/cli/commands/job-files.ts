// `stacklab job files ID [DIR]` and `job cat ID [FILE]`: a job's result
// root from the terminal (its output, job.yaml, stats.json, a build's
// build.log), as one would browse compass-ci's result server — without
// composing /result/<suite>/<date>/<testbox>/<os>/<id>/ URLs by hand.
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { ApiError, type ApiClient } from '../../api/client.ts';
import type { Job } from '../../api/contract.ts';
import { UserError } from '../../errors.ts';
import { clientFor, out, parseId, printJson, withJson, withServer, type GlobalOptions } from '../common.ts';
import { matching } from '../options.ts';

/** A path inside a result root: relative, no `.` or `..` segment. */
const resultPath = matching(/^(?!\/)(?!.*(^|\/)\.\.?(\/|$))[^\0]{1,1024}$/, 'a path inside the job’s result root (relative, without . or ..)');

/** Why a path of a job's result root is not there: the job never reached a testbox, or there is no such file (and what there is). */
async function noFiles(client: ApiClient, j: Job, path: string, err: unknown): Promise<never> {
  if (!(err instanceof ApiError) || err.status !== 404) throw err;
  if (!j.testbox_host && j.job_stage !== 'finish') throw new UserError('not_found', `job ${j.id} has no result files yet: it is in ${j.job_stage}${j.waiting ? ', waiting for its builds' : ''} and no testbox has taken it`);
  const top = await client.get<string[]>(j.result_root).catch(() => undefined);
  if (!top) throw new UserError('not_found', `job ${j.id} has no result files: no testbox ever ran it (${j.job_stage}/${j.job_health ?? '-'})`);
  throw new UserError('not_found', `job ${j.id} has no ${path} in its result root; it has ${top.join(' ')}`, { job: j.id, file: path });
}

const urlOf = (j: Job, path: string): string => `${j.result_root}/${path}`.replace(/\/+$/, '');

export function registerJobFiles(job: Command): void {
  withJson(withServer(job.command('files')))
    .description("the files of a job's result root (or of one directory in it), a directory with a trailing /")
    .argument('<id>')
    .argument('[dir]', 'a directory inside the result root', resultPath)
    .action(async (id: string, dir: string | undefined, f: GlobalOptions) => {
      const client = clientFor(f);
      const j = await client.get<Job>(`/api/jobs/${parseId(id)}`);
      const path = dir ? dir.replace(/\/*$/, '/') : '';
      const names = await client.get<string[]>(urlOf(j, path)).catch((err: unknown) => noFiles(client, j, path, err));
      if (!Array.isArray(names)) throw new UserError('bad_usage', `${path.replace(/\/$/, '')} is a file, not a directory: stacklab job cat ${j.id} ${path.replace(/\/$/, '')}`);
      if (f.json) return printJson(names.map((name) => ({ name, url: client.url(urlOf(j, path + name)) })));
      for (const name of names) out(path + name);
    });

  withJson(withServer(job.command('cat')))
    .description("print a file of a job's result root (default: output, the test's own output); --json: it as text with its URL")
    .argument('<id>')
    .argument('[file]', 'a file inside the result root', resultPath, 'output')
    .action(async (id: string, file: string, f: GlobalOptions) => {
      const client = clientFor(f);
      const j = await client.get<Job>(`/api/jobs/${parseId(id)}`);
      const res = await client.raw('GET', urlOf(j, file)).catch((err: unknown) => noFiles(client, j, file, err));
      // a directory answers the JSON list of its entries; files (.json ones too) come as text or bytes
      if ((res.headers.get('content-type') ?? '').startsWith('application/json')) {
        await res.body?.cancel();
        throw new UserError('bad_usage', `${file} is a directory of job ${j.id}'s result root: stacklab job files ${j.id} ${file}`);
      }
      if (f.json) {
        const data = Buffer.from(await res.arrayBuffer());
        return printJson({ job: j.id, file, url: client.url(urlOf(j, file)), size: data.length, text: data.toString('utf8') });
      }
      if (res.body) await pipeline(Readable.fromWeb(res.body as WebReadableStream), process.stdout, { end: false });
    });
}
