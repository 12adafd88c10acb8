// `stacklab jobs`, `job show`, `job wait`, `cancel`: inspect, wait, cancel.
import type { Command } from 'commander';
import type { ApiClient } from '../../api/client.ts';
import { FailureError } from '../../errors.ts';
import type { Job } from '../../api/contract.ts';
import { cell, clientFor, jobPage, out, parseId, printJson, since, table, withJson, withServer, type GlobalOptions } from '../common.ts';
import { duration, integer, matching, oneOf, positiveInt } from '../options.ts';
import { HEALTHS, STAGES } from '../../model/lifecycle.ts';
import { eventLine, followJob, keyValues } from '../follow.ts';
import { failureTail, watchBuilds } from '../build-follow.ts';
import { registerJobFiles } from './job-files.ts';
import { bisectByErrorCommand, DMESG } from '../../model/dmesg.ts';

/** The suite's parameters of a job (its `<suite>:` map, the matrix values it was expanded with), as key=value words. */
export function suiteParams(j: Job): string {
  if (j.suite === 'pkgbuild') return ''; // its map is the build it makes: see ssPackages
  const p = j[j.suite];
  return p !== null && typeof p === 'object' && !Array.isArray(p) ? keyValues(p).join(' ') : '';
}

/** A package at a commit: pkg@ref (short sha), config. */
export function pkgAt(p: { pkg: string; commit: string; commit_ref: string; config?: string | null }): string {
  const ref = p.commit_ref === p.commit ? p.commit.slice(0, 12) : `${p.commit_ref} (${p.commit.slice(0, 8)})`;
  return `${p.pkg}@${ref}${p.config ? ` config ${p.config}` : ''}`;
}

/** The ss packages a job runs with; a pkgbuild job, the one it builds (→ pkg@ref). */
export function ssPackages(j: Job): string[] {
  const b = j.pkgbuild as { pkg?: unknown; commit?: unknown; commit_ref?: unknown; config?: unknown } | undefined;
  if (j.suite === 'pkgbuild' && b && typeof b.pkg === 'string' && typeof b.commit === 'string') {
    return [`→ ${pkgAt({ pkg: b.pkg, commit: b.commit, commit_ref: typeof b.commit_ref === 'string' ? b.commit_ref : b.commit, config: typeof b.config === 'string' ? b.config : null })}`];
  }
  return j.deps.map(pkgAt);
}

/** One line per finished job: id, suite and its parameters, health and its stats. */
export function summaryLine(j: Job): string {
  const stats = Object.entries(j.stats ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const params = suiteParams(j);
  return `job ${j.id}  ${j.suite}${params ? ` ${params}` : ''}  ${j.job_stage}${j.job_health ? `/${j.job_health}` : ''}${stats ? `  ${stats}` : ''}`;
}

function showJob(j: Job, base: string): void {
  out(`job ${j.id}  ${j.suite}  on ${j.testbox}${j.testbox_host ? ` (${j.testbox_host})` : ''}`);
  out(`  page       ${jobPage(base, j.id)}`);
  const params = suiteParams(j);
  if (params) out(`  params     ${params}`);
  for (const [i, p] of ssPackages(j).entries()) out(`  ${i === 0 ? 'ss        ' : '          '} ${p}`);
  out(`  stage      ${j.job_stage}${j.waiting ? ' (waiting for builds)' : ''}`);
  if (j.wait_reason) out(`  waiting    ${j.wait_reason.kind}: ${j.wait_reason.message}`);
  out(`  health     ${j.job_health ?? '-'}`);
  out(`  os         ${String(j.os)} ${String(j.os_version)} ${String(j.os_arch)}`);
  out(`  result     ${base}${j.result_root}  (stacklab job files ${j.id}; job cat ${j.id} [FILE])`);
  if (Object.keys(j.ss_wait_jobs).length > 0) out(`  waits on   ${Object.entries(j.ss_wait_jobs).map(([k, v]) => `${k}:${v}`).join(' ')}`);
  if (j.dep_failure) out(`  dep fail   ${keyValues(j.dep_failure).join(' ')}`);
  if (j.kernel_uri) out(`  kernel     ${j.kernel_uri}`);
  if (j.initrds.length > 0) out(`  initrds    ${j.initrds.join('\n             ')}`);
  if (j.stats && Object.keys(j.stats).length > 0) {
    out('  stats');
    for (const [k, v] of Object.entries(j.stats)) out(`    ${k}: ${v}`);
    const command = Object.keys(j.stats).filter((k) => k.startsWith(DMESG)).map((k) => bisectByErrorCommand(j, k)).find(Boolean);
    if (command && j.deps.length > 0) {
      out(`  kernel errors: to find the commit that brought one, bisect its job by it:`);
      out(`    stacklab job cat ${j.id} job.yaml > job-${j.id}.yaml && ${command}`);
    }
  }
  if (j.timeline) {
    out('  timeline');
    for (const e of j.timeline) out(`    ${eventLine(j.id, e)}`);
  }
}

/** Follows one job to its end as `submit -m` does: its timeline, the builds it waits for, its summary and (failed) its output's tail. */
async function followLive(client: ApiClient, id: number, json: boolean): Promise<Job> {
  if (json) return followJob(client, id);
  const builds = watchBuilds(client, [id], out);
  const j = await followJob(client, id, { onEvent: (i, e) => builds.event(i, e) }).finally(() => builds.stop());
  await builds.drained();
  out('');
  await printEnding(client, j, builds.shown);
  return j;
}

/** How a followed job ended: its summary, its output's tail unless it succeeded, its page. */
export async function printEnding(client: ApiClient, j: Job, shownLogs?: ReadonlySet<string>): Promise<void> {
  out(summaryLine(j));
  if (j.job_health !== 'success') for (const l of await failureTail(client, j, shownLogs)) out(l);
  out(`  ${jobPage(client.base, j.id)}`);
}

export function registerJobs(program: Command): void {
  withJson(withServer(program.command('jobs')))
    .description('list jobs, newest first')
    .option('--stage <stage>', `only jobs in this stage (${STAGES.join(', ')})`, oneOf(STAGES))
    .option('--health <health>', `only jobs with this health (${HEALTHS.join(', ')}), or not_success: any other`, oneOf([...HEALTHS, 'not_success']))
    .option('--suite <suite>', 'only jobs of this suite', matching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'a suite name (letters, digits, . _ -)'))
    .option('--account <name>', "only this account's jobs", matching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'an account name (letters, digits, . _ -)'))
    .option('--pkg <pkg>', 'only jobs with this ss package', matching(/^[a-z0-9][a-z0-9._+-]{0,63}$/, 'an ss package name'))
    .option('--commit <sha>', 'only jobs with an ss build at a commit starting so (with --pkg: of that package)', matching(/^[0-9a-f]{4,40}$/, '4 to 40 hex digits of a sha'))
    .option('--bisect <id>', "only this bisect's probe jobs, or none: no bisect's", matching(/^([1-9][0-9]{0,14}|none)$/, 'a bisect id or none'))
    .option('--before <id>', 'only jobs older than this one (the next page: the last id shown)', positiveInt)
    .option('--limit <n>', 'at most this many', integer(1, 1000), 50)
    .action(async (f: GlobalOptions & { stage?: string; health?: string; suite?: string; account?: string; pkg?: string; commit?: string; bisect?: string; before?: number; limit: number }) => {
      const jobs = await clientFor(f).get<Job[]>('/api/jobs', { stage: f.stage, health: f.health, suite: f.suite, account: f.account, pkg: f.pkg, commit: f.commit, bisect: f.bisect, before: f.before, limit: f.limit });
      if (f.json) return printJson(jobs);
      if (jobs.length === 0) return out('no jobs');
      out(
        table(
          ['id', 'suite', 'params', 'testbox', 'stage', 'health', 'submitted', 'took', 'ss'],
          jobs.map((j) => [j.id, j.suite, cell(suiteParams(j)), j.testbox_host ?? j.testbox, j.waiting ? 'submit (waiting)' : j.job_stage, j.job_health, j.submit_time.slice(0, 19).replace('T', ' '), j.finish_time ? since(j.submit_time, j.finish_time) : null, cell(ssPackages(j).join(', '), 60)]),
        ),
      );
    });

  const job = program.command('job').description('one job: show, wait, its result files');
  withJson(withServer(job.command('show')))
    .description('a job with its parameters, ss packages, deps, stats and timeline')
    .argument('<id>')
    .option('-f, --follow', 'then follow it until it finishes: its timeline, the builds it waits for, and the tail of its output if it failed; exit 1 unless it succeeded')
    .action(async (id: string, f: GlobalOptions & { follow?: boolean }) => {
      const client = clientFor(f);
      const j = await client.get<Job>(`/api/jobs/${parseId(id)}`);
      if (!f.follow) return f.json ? printJson(j) : showJob(j, client.base);
      const { timeline: _t, ...head } = j; // the timeline comes as it is followed
      if (!f.json) showJob(head, client.base);
      const done = await followLive(client, j.id, Boolean(f.json));
      if (f.json) printJson(done);
      if (done.job_health !== 'success') throw new FailureError(`job ${done.id} finished ${done.job_health}`);
    });

  withJson(withServer(job.command('wait')))
    .description('wait until a job finishes; exit 1 unless it succeeded')
    .argument('<id>')
    .option('--timeout <s>', 'give up after this long (exit 1): seconds, or 5m, 1h', duration)
    .option('-v, --verbose', 'print timeline entries as they happen')
    .action(async (id: string, f: GlobalOptions & { timeout?: number; verbose?: boolean }) => {
      const timeoutMs = f.timeout !== undefined ? f.timeout * 1000 : undefined;
      const client = clientFor(f);
      // asked once first: no server there (or no such job) is said at once; a restart later is waited for
      const start = await client.get<Job>(`/api/jobs/${parseId(id)}`);
      const j = await followJob(client, start.id, { timeoutMs, onEvent: f.verbose && !f.json ? (i, e) => out(eventLine(i, e)) : undefined });
      if (f.json) printJson(j);
      else out(summaryLine(j));
      if (j.job_health !== 'success') throw new FailureError(`job ${j.id} finished ${j.job_health}`);
    });

  registerJobFiles(job);

  withJson(withServer(program.command('cancel')))
    .description('cancel a job that has not finished')
    .argument('<id>')
    .action(async (id: string, f: GlobalOptions) => {
      const j = await clientFor(f).post<Job>(`/api/jobs/${parseId(id)}/cancel`);
      if (f.json) printJson(j);
      else out(`job ${j.id} cancelled`);
    });
}
