// `stacklab submit FILE [key=value…] [-m]`: load and expand a job file
// locally, submit all its jobs at once, and optionally follow them live.
import type { Command } from 'commander';
import { ApiError } from '../../api/client.ts';
import { FailureError } from '../../errors.ts';
import { JobFileError, loadJobFile, type LoadedJobs } from '../../jobfile/index.ts';
import type { SubmitIssue, SubmitResult } from '../../api/contract.ts';
import type { Job } from '../../api/contract.ts';
import { clientFor, out, printJson, withJson, withServer, type GlobalOptions } from '../common.ts';
import { duration } from '../options.ts';
import { eventLine, followJobs } from '../follow.ts';
import { summaryLine } from './jobs.ts';

interface Flags extends GlobalOptions {
  monitor?: boolean;
  timeout?: number;
}

/** The server's objections to job i at field path p, as file:line:col lines. */
export function locateIssues(loaded: LoadedJobs, err: ApiError): JobFileError | undefined {
  const issues = (err.details as { issues?: SubmitIssue[] } | null)?.issues;
  if (err.code !== 'invalid_job' || !Array.isArray(issues)) return undefined;
  return new JobFileError(
    issues.map((i) => ({ ...loaded.locate(i.job, i.path ? i.path.split('.') : []), path: i.path, message: i.message })),
  );
}

export function registerSubmit(program: Command): void {
  withJson(withServer(program.command('submit')))
    .description('submit the jobs of a job file; key=value and dotted ss.pkg.commit=… override fields')
    .argument('<file>', 'job file (YAML)')
    .argument('[overrides...]', 'key=value overrides, applied before matrix expansion')
    .option('-m, --monitor', 'follow the jobs live until they finish; exit 1 if any did not succeed')
    .option('--timeout <s>', 'with -m, give up after this long: seconds, or 5m, 1h', duration)
    .action(async (file: string, overrides: string[], flags: Flags) => {
      const loaded = loadJobFile(file, overrides);
      const client = clientFor(flags);
      let results: SubmitResult[];
      try {
        results = await client.post<SubmitResult[]>('/api/jobs', loaded.jobs);
      } catch (err) {
        if (err instanceof ApiError) throw locateIssues(loaded, err) ?? err;
        throw err;
      }
      if (!flags.monitor) {
        if (flags.json) printJson(results);
        else for (const r of results) out(`job id=${r.job_id}`);
        return;
      }
      if (!flags.json) for (const r of results) out(`job id=${r.job_id}  result_root=${r.result_root}`);
      const timeoutMs = flags.timeout !== undefined ? flags.timeout * 1000 : undefined;
      const finals: Job[] = await followJobs(
        client,
        results.map((r) => r.job_id),
        { timeoutMs, onEvent: flags.json ? undefined : (id, e) => out(eventLine(id, e)) },
      );
      if (flags.json) printJson(finals.map(({ timeline: _t, ...j }) => j));
      else {
        out('');
        for (const j of finals) out(summaryLine(j));
      }
      const bad = finals.filter((j) => j.job_health !== 'success');
      if (bad.length > 0) throw new FailureError(`${bad.length} of ${finals.length} jobs did not succeed`);
    });
}
