// `stacklab submit FILE… [key=value…] [-s 'k: v'] [-i inc.yaml] [-c defaults.yaml] [-m]`:
// load and expand job files locally (lkp's job format, compass-ci's submit
// options), submit all their jobs at once, and optionally follow them live.
import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { ApiError, UnreachableError, type ApiClient } from '../../api/client.ts';
import { backoff, sleep } from '../../util/sleep.ts';
import { FailureError } from '../../errors.ts';
import { clusterRefusal, JobFileError, jobYaml, type LoadedJobs } from '../../jobfile/index.ts';
import type { DryRun, Job, SubmitIssue, SubmitResult } from '../../api/contract.ts';
import { attachUploads } from '../uploads.ts';
import { clientFor, jobPage, out, printJson, withJson, withServer, type GlobalOptions } from '../common.ts';
import { watchBuilds } from '../build-follow.ts';
import { duration } from '../options.ts';
import { followJobs, isTransient } from '../follow.ts';
import { printEnding } from './jobs.ts';
import { combined, loadFiles, loadOptions, rawArgsOf, splitArgs, userDefaultsFile, withJobInput, type JobInputFlags } from './job-input.ts';

interface Flags extends GlobalOptions, JobInputFlags {
  monitor?: boolean;
  timeout?: number;
  dryRun?: boolean;
  local?: boolean;
}

/** The server's objections to job i at field path p, as file:line:col lines. */
export function locateIssues(loaded: LoadedJobs, err: ApiError): JobFileError | undefined {
  const issues = (err.details as { issues?: SubmitIssue[] } | null)?.issues;
  if ((err.code !== 'invalid_job' && err.code !== 'forbidden') || !Array.isArray(issues)) return undefined;
  return new JobFileError(
    issues.map((i) => ({ ...loaded.locate(i.job, i.path ? i.path.split('.') : []), path: i.path, message: i.message })),
  );
}

/**
 * Submits with an idempotency key, trying again while the server cannot be
 * reached or answers 5xx (a restart): the key makes the retry safe, a submit
 * that went through but whose answer was lost is answered again.
 */
async function submitOnce(client: ApiClient, jobs: unknown[]): Promise<SubmitResult[]> {
  const key = randomUUID();
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.request<SubmitResult[]>('POST', '/api/jobs', { json: jobs, headers: { 'idempotency-key': key } });
    } catch (err) {
      // Nothing listening may be a server restarting, or none started: wait a little only. A reset mid-request waits longer.
      const patience = refused(err) ? 10_000 : 60_000;
      if (!isTransient(err) || Date.now() - started > patience) throw err;
      if (attempt === 0) process.stderr.write(`stacklab: ${client.base} did not answer; trying again for up to ${patience / 1000} s\n`);
      await sleep(backoff(attempt, 250, 5000));
    }
  }
}

const refused = (err: unknown): boolean => err instanceof UnreachableError && err.code === 'ECONNREFUSED';

/** One line per job submitted: its id and its page on the dashboard. */
function printSubmitted(results: SubmitResult[], base: string): void {
  for (const r of results) out(`job id=${r.job_id}  ${jobPage(base, r.job_id)}`);
}

/** Follows the jobs to their end (-m): their timelines, the builds they wait for; then how each ended. */
async function monitor(client: ApiClient, ids: number[], timeoutMs: number | undefined, json: boolean): Promise<Job[]> {
  if (json) {
    const finals = await followJobs(client, ids, { timeoutMs });
    printJson(finals.map(({ timeline: _t, ...j }) => j));
    return finals;
  }
  const builds = watchBuilds(client, ids, out);
  // Why each job waits, said again whenever it changes (its build moved, it was released, boxes came or went).
  const waits = new WaitReporter(client);
  for (const id of ids) waits.check(id);
  const finals = await followJobs(client, ids, {
    timeoutMs,
    onEvent: (id, e) => {
      builds.event(id, e);
      waits.check(id);
    },
  }).finally(() => builds.stop());
  await builds.drained();
  out('');
  for (const j of finals) await printEnding(client, j, builds.shown);
  return finals;
}

/** submit -m: says why a job waits, when the reason changes (its build moved, it was released, boxes came or went). */
class WaitReporter {
  readonly #client: ApiClient;
  readonly #said = new Map<number, string>();
  constructor(client: ApiClient) {
    this.#client = client;
  }

  check(id: number): void {
    void this.#client.get<Job>(`/api/jobs/${id}`).then(
      (j) => {
        const line = j.wait_reason ? `${j.wait_reason.kind}: ${j.wait_reason.message}` : '';
        if (!line || this.#said.get(id) === line) return;
        this.#said.set(id, line);
        out(`${new Date().toISOString().slice(11, 23)}  job ${id}  waiting  ${line}`);
      },
      () => {},
    );
  }
}

/** Cluster jobs, refused before anything is sent: stacklab has no cluster testboxes. */
function refuseClusters(loaded: LoadedJobs): void {
  const issues = loaded.jobs.flatMap((job, i) => {
    const why = clusterRefusal(job);
    const key = Object.keys(job).find((k) => k === 'cluster' || /^if role\s/.test(k)) ?? '';
    return why ? [{ ...loaded.locate(i, [key]), path: key, message: why }] : [];
  });
  // One line per place in the files, not per expanded job.
  const seen = new Set<string>();
  const unique = issues.filter((i) => !seen.has(`${i.file}:${i.line}:${i.col}`) && seen.add(`${i.file}:${i.line}:${i.col}`));
  if (unique.length > 0) throw new JobFileError(unique);
}

const HELP = `
Arguments are job files and key=value overrides, in any order, as compass-ci's
submit takes them: key=value after the first job file overrides the file;
before it, it is only a default (the file's own value wins). Dotted keys reach
inside (ss.linux.commit=v5.11); a value is YAML (nr_threads=[1,2] expands).

Layers, lowest first:
  ${userDefaultsFile()}  (if it exists)
  -c FILE        defaults files, in order (my_account, my_email, testbox …;
                 compass-ci keeps these in ~/.config/compass-ci/defaults/*.yaml)
  -i FILE        written before the job file: defaults too
  key=value      written before the job file
  the job file   document 0, then each later document merged over it (lkp)
  -i FILE        written after the job file: over it
  -s 'k: v'      YAML mappings over every job, in order
  key=value      written after the job file
A key replaces the whole value below it (lkp's merge); need_*, mail_to,
mail_cc, constraints and keys ending in + accumulate, keys ending in - delete.
my_token is never put in a job: it is who you are (sent as the request's
token; --token and $STACKLAB_TOKEN come first).

A config named by a path (ss.linux.config: /srv/…/defconfig, or ./my.config)
that is a file on this machine is uploaded with the job, as compass-ci's
client does; the build key counts its content. Any other name is a config
under the lab's configs/<pkg>/.

--dry-run asks the server what the submit would make (the jobs after the
lab's defaults, each ss package resolved, and whether its build would be
reused, waited on or made) and submits nothing; with --local it prints the
jobs as loaded here, without a server (as 'stacklab split' does). --strict makes near misses of the fields
stacklab reads (runtim:, ss.linux.comit) errors instead of warnings.
`;

export function registerSubmit(program: Command): void {
  const cmd = withJson(withServer(program.command('submit')))
    .description('submit the jobs of job files (lkp-tests job format); key=value and dotted ss.pkg.commit=… override fields')
    .argument('<args...>', 'job files (YAML) and key=value overrides')
    .option('-m, --monitor', 'follow the jobs live until they finish; exit 1 if any did not succeed')
    .option('--timeout <s>', 'with -m, give up after this long: seconds, or 5m, 1h', duration)
    .option('--local', 'with --dry-run: the jobs as loaded here (before the lab’s defaults), without asking a server')
    .option('--dry-run', 'ask the server what the submit would make (the lab’s defaults applied, each ss package resolved, whether its build would be reused or made) and submit nothing');
  withJobInput(cmd, { layers: true })
    .addHelpText('after', HELP)
    .action(async (raw: string[], flags: Flags) => {
      const args = splitArgs(raw);
      const files = loadFiles(args, loadOptions(flags, args, rawArgsOf(program), { userDefaults: true, requireSuite: true }));
      const loaded = combined(files);
      // my_token of a defaults file is who we are, never part of a job.
      const jobToken = loaded.jobs.find((j) => typeof j.my_token === 'string')?.my_token as string | undefined;
      for (const job of loaded.jobs) if (Object.hasOwn(job, 'my_token')) delete job.my_token;
      if (flags.dryRun && flags.local) {
        if (flags.json) printJson(loaded.jobs);
        else loaded.jobs.forEach((job, i) => out(`${i > 0 ? '---\n' : ''}# ${loaded.names[i]}\n${jobYaml(job).trimEnd()}`));
        return;
      }
      refuseClusters(loaded);
      attachUploads(loaded.jobs);
      const client = clientFor({ ...flags, token: flags.token ?? jobToken });
      if (flags.dryRun) {
        // The server's view: the lab's defaults applied, each package resolved, what each build would do.
        let dry: DryRun;
        try {
          dry = await client.post<DryRun>('/api/jobs?dry_run=true', loaded.jobs);
        } catch (err) {
          if (err instanceof ApiError) throw locateIssues(loaded, err) ?? err;
          throw err;
        }
        if (flags.json) return printJson(dry);
        dry.forEach(({ job, builds }, i) => {
          const { upload_fields: _u, ...shown } = job;
          out(`${i > 0 ? '---\n' : ''}# ${loaded.names[i]}\n${jobYaml(shown).trimEnd()}`);
          for (const b of builds) {
            out(`# ss.${b.pkg}: ${b.would} ${b.build_key.slice(0, 12)} — ${b.commit.slice(0, 12)} (${b.commit_ref}) of ${b.upstream_url}, config ${b.config ?? '-'}${b.config_sha256 ? ` sha256 ${b.config_sha256.slice(0, 12)}` : ''}, for ${b.os} ${b.os_version} ${b.os_arch}, on ${b.testbox}`);
          }
        });
        return;
      }
      let results: SubmitResult[];
      try {
        results = await submitOnce(client, loaded.jobs);
      } catch (err) {
        if (err instanceof ApiError) throw locateIssues(loaded, err) ?? err;
        throw err;
      }
      // Accepted, but nothing can run it: said at once (stderr; the submit still succeeded).
      for (const r of results) if (r.warning) process.stderr.write(`stacklab: warning: ${r.warning}\n`);
      if (!flags.monitor) {
        if (flags.json) printJson(results);
        else printSubmitted(results, client.base);
        return;
      }
      if (!flags.json) printSubmitted(results, client.base);
      const timeoutMs = flags.timeout !== undefined ? flags.timeout * 1000 : undefined;
      const finals = await monitor(client, results.map((r) => r.job_id), timeoutMs, Boolean(flags.json));
      const bad = finals.filter((j) => j.job_health !== 'success');
      if (bad.length > 0) throw new FailureError(`${bad.length} of ${finals.length} jobs did not succeed`);
    });
}
