// `stacklab jobs`, `job show`, `job wait`, `cancel`: inspect, wait, cancel.
import type { Command } from 'commander';
import { FailureError } from '../../errors.ts';
import type { Job } from '../../api/contract.ts';
import { clientFor, out, parseId, printJson, since, table, withJson, withServer, type GlobalOptions } from '../common.ts';
import { duration, integer, oneOf } from '../options.ts';
import { HEALTHS, STAGES } from '../../model/lifecycle.ts';
import { eventLine, followJob } from '../follow.ts';

/** One line per finished job: id, suite, health and its stats. */
export function summaryLine(j: Job): string {
  const stats = Object.entries(j.stats ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `job ${j.id}  ${j.suite}  ${j.job_stage}${j.job_health ? `/${j.job_health}` : ''}${stats ? `  ${stats}` : ''}`;
}

function showJob(j: Job): void {
  out(`job ${j.id}  ${j.suite}  on ${j.testbox}${j.testbox_host ? ` (${j.testbox_host})` : ''}`);
  out(`  stage      ${j.job_stage}${j.waiting ? ' (waiting for builds)' : ''}`);
  if (j.wait_reason) out(`  waiting    ${j.wait_reason.kind}: ${j.wait_reason.message}`);
  out(`  health     ${j.job_health ?? '-'}`);
  out(`  os         ${String(j.os)} ${String(j.os_version)} ${String(j.os_arch)}`);
  out(`  result     ${j.result_root}`);
  if (Object.keys(j.ss_wait_jobs).length > 0) out(`  waits on   ${Object.entries(j.ss_wait_jobs).map(([k, v]) => `${k}:${v}`).join(' ')}`);
  if (j.dep_failure) out(`  dep fail   ${JSON.stringify(j.dep_failure)}`);
  if (j.kernel_uri) out(`  kernel     ${j.kernel_uri}`);
  if (j.initrds.length > 0) out(`  initrds    ${j.initrds.join('\n             ')}`);
  if (j.stats && Object.keys(j.stats).length > 0) {
    out('  stats');
    for (const [k, v] of Object.entries(j.stats)) out(`    ${k}: ${v}`);
  }
  if (j.timeline) {
    out('  timeline');
    for (const e of j.timeline) out(`    ${eventLine(j.id, e)}`);
  }
}

export function registerJobs(program: Command): void {
  withJson(withServer(program.command('jobs')))
    .description('list jobs, newest first')
    .option('--stage <stage>', `only jobs in this stage (${STAGES.join(', ')})`, oneOf(STAGES))
    .option('--health <health>', `only jobs with this health (${HEALTHS.join(', ')})`, oneOf(HEALTHS))
    .option('--suite <suite>', 'only jobs of this suite')
    .option('--limit <n>', 'at most this many', integer(1, 1000), 50)
    .action(async (f: GlobalOptions & { stage?: string; health?: string; suite?: string; limit: number }) => {
      const jobs = await clientFor(f).get<Job[]>('/api/jobs', { stage: f.stage, health: f.health, suite: f.suite, limit: f.limit });
      if (f.json) return printJson(jobs);
      if (jobs.length === 0) return out('no jobs');
      out(
        table(
          ['id', 'suite', 'testbox', 'stage', 'health', 'submitted', 'took'],
          jobs.map((j) => [j.id, j.suite, j.testbox_host ?? j.testbox, j.waiting ? 'submit (waiting)' : j.job_stage, j.job_health, j.submit_time.slice(0, 19).replace('T', ' '), j.finish_time ? since(j.submit_time, j.finish_time) : null]),
        ),
      );
    });

  const job = program.command('job').description('one job: show, wait');
  withJson(withServer(job.command('show')))
    .description('a job with its deps, stats and timeline')
    .argument('<id>')
    .action(async (id: string, f: GlobalOptions) => {
      const j = await clientFor(f).get<Job>(`/api/jobs/${parseId(id)}`);
      if (f.json) printJson(j);
      else showJob(j);
    });

  withJson(withServer(job.command('wait')))
    .description('wait until a job finishes; exit 1 unless it succeeded')
    .argument('<id>')
    .option('--timeout <s>', 'give up after this long (exit 1): seconds, or 5m, 1h', duration)
    .option('-v, --verbose', 'print timeline entries as they happen')
    .action(async (id: string, f: GlobalOptions & { timeout?: number; verbose?: boolean }) => {
      const timeoutMs = f.timeout !== undefined ? f.timeout * 1000 : undefined;
      const j = await followJob(clientFor(f), parseId(id), { timeoutMs, onEvent: f.verbose && !f.json ? (i, e) => out(eventLine(i, e)) : undefined });
      if (f.json) printJson(j);
      else out(summaryLine(j));
      if (j.job_health !== 'success') throw new FailureError(`job ${j.id} finished ${j.job_health}`);
    });

  withJson(withServer(program.command('cancel')))
    .description('cancel a job that has not finished')
    .argument('<id>')
    .action(async (id: string, f: GlobalOptions) => {
      const j = await clientFor(f).post<Job>(`/api/jobs/${parseId(id)}/cancel`);
      if (f.json) printJson(j);
      else out(`job ${j.id} cancelled`);
    });
}
