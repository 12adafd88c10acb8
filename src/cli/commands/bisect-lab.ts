// `stacklab bisect start/list/show/wait/cancel`: bisection in the lab (SPEC §7).
// The job file is loaded here (errors with file:line:col) and sent with the
// range; the server drives the bisect; these commands follow its progress.
import type { Command } from 'commander';
import { ApiError, type ApiClient } from '../../api/client.ts';
import { FailureError, UserError } from '../../errors.ts';
import { formatReport } from '../bisect-report.ts';
import { likelyNote } from '../../bisect/bayes/status.ts';
import type { Bisect, BisectProbe } from '../../api/contract.ts';
import { clientFor, isTty, out, parseId, printJson, table, withJson, withServer, type GlobalOptions } from '../common.ts';
import { bisectGroup } from './bisect.ts';
import { duration, integer, oneOf, positiveInt, probability } from '../options.ts';
import { locateIssues } from './submit.ts';
import { loadFiles } from './job-input.ts';
import { keepTrying } from '../follow.ts';

interface StartFlags extends GlobalOptions {
  pkg?: string;
  good: string[];
  bad?: string;
  criterion?: string;
  metric?: string;
  direction?: string;
  errid?: string;
  jobs?: number;
  repeat?: number;
  maxRuns?: number;
  confidence?: number;
  budget?: number;
  falsePositives?: boolean;
  deterministic?: boolean;
  interleaveEnds?: boolean;
  firstParent?: boolean;
  wait?: boolean;
  timeout?: number;
}

/** Where the bisect is: while it runs, the round, what is left and the most likely first bad commit; once done, how it stopped and what the answer means. */
export function progressLine(b: Bisect): string {
  const p = b.progress;
  const r = b.result;
  if (r) return `bisect ${b.id} ${b.state}${r.stop ? ` (stopped at the ${r.stop === 'budget' ? 'run budget' : 'confidence asked for'})` : ''}: ${r.message ?? r.reason}`;
  const running = b.jobs.filter((j) => !j.recorded).length;
  const best = p.best && p.best.p >= 0.1 ? ` · most likely ${p.best.sha.slice(0, 8)} (${likelyNote(p.best.p, b.request.confidence)})` : '';
  return `bisect ${b.id} ${b.state}: round ${p.rounds}, ${p.remaining} candidate${p.remaining === 1 ? '' : 's'} left, ${p.judged} judged, ${p.samples} runs, ${running} job${running === 1 ? '' : 's'} running${best}${b.error ? ` · error: ${b.error}` : ''}`;
}

const SAID: Record<string, string> = { good: 'passed', bad: 'FAILED', skip: 'untestable', infra: 'infra failure (run again, not counted)' };

/** One probe job's run, as it arrives. */
export function probeLine(j: BisectProbe, n: number): string {
  const said = j.value !== undefined ? `sample ${Number(j.value.toPrecision(6))}` : j.outcome ? SAID[j.outcome] : 'recorded';
  return `  run ${n}: ${j.sha.slice(0, 8)} ${said} (job ${j.job_id}${j.testbox ? ` on ${j.testbox}` : ''}, round ${j.round})`;
}

/**
 * Follows a bisect until it ends (or the deadline), a server restart waited
 * out: `onUpdate` gets each view with the lines of the runs recorded since
 * the last one (in job order). Returns the ended bisect.
 */
export async function watchBisect(client: ApiClient, id: number, onUpdate: (b: Bisect, arrived: string[]) => void, timeoutMs?: number): Promise<Bisect> {
  const deadline = timeoutMs ? Date.now() + timeoutMs : Infinity;
  const shown = new Set<number>();
  let seen = -1;
  for (;;) {
    const wait = Math.max(0, Math.min(30, (deadline - Date.now()) / 1000));
    // a server restart mid-bisect is waited for (one line saying so), as a job's follow does
    const b = seen === -1 ? await client.get<Bisect>(`/api/bisects/${id}`, { wait: 0, seen }) : await keepTrying(() => client.get<Bisect>(`/api/bisects/${id}`, { wait: wait.toFixed(3), seen }), { deadline, patienceMs: timeoutMs ? Infinity : undefined });
    seen = b.progress.log;
    const arrived: string[] = [];
    for (const j of b.jobs) {
      if (!j.recorded || shown.has(j.job_id)) continue;
      shown.add(j.job_id);
      arrived.push(probeLine(j, shown.size));
    }
    onUpdate(b, arrived);
    if (b.state !== 'running') return b;
    if (Date.now() >= deadline) throw new FailureError(`bisect ${id} did not end within ${Math.round((timeoutMs ?? 0) / 1000)} s`);
  }
}

/** The engine's report, with each commit's subject and author. */
export function bisectReport(b: Bisect): string {
  if (!b.result) {
    // still running (or failed): where it is, and every run so far
    const runs = b.jobs.filter((j) => j.recorded).map((j, i) => probeLine(j, i + 1));
    const open = b.jobs.filter((j) => !j.recorded).map((j) => `  job ${j.job_id}: ${j.sha.slice(0, 8)} ${j.stage}${j.testbox ? ` on ${j.testbox}` : ''} (round ${j.round})`);
    return [progressLine(b), ...runs, ...open].join('\n') + '\n';
  }
  // the answer's commits with their author and date, the evidence's with their subject
  const named = new Set([b.result.first_bad, b.result.parent]);
  const names = new Map(Object.entries(b.result.commits).map(([sha, c]) => [sha, named.has(sha) ? `${c.subject} — ${c.author}, ${c.date.slice(0, 10)}` : c.subject]));
  const head = `bisect ${b.id}: ${b.pkg} ${b.criterion}${b.metric ? ` ${b.metric} (${b.direction} is better)` : ''}, ${b.request.good.join(',')}..${b.request.bad} (${b.candidates} candidates)\n`;
  return head + formatReport(b.result, { criterion: b.criterion, ...(b.metric ? { metric: b.metric } : {}), ...(b.request.confidence !== undefined ? { confidence: b.request.confidence } : {}) }, names);
}

/** A bisect as a row of `bisect list`. */
export function listRow(b: Bisect): (string | number | null)[] {
  const r = b.result;
  const answer = r ? (r.first_bad ? `${r.first_bad.slice(0, 12)} (${r.confidence.toFixed(2)})` : r.reason) : b.progress.best && b.progress.best.p >= 0.1 ? `${b.progress.best.sha.slice(0, 8)}? (${b.progress.best.p.toFixed(2)})` : null;
  return [b.id, b.pkg, `${b.criterion}${b.metric ? ` ${b.metric}` : ''}`, `${b.request.good.join(',')}..${b.request.bad}`, b.state, b.candidates, b.progress.samples, answer, b.created_at.slice(0, 19).replace('T', ' ')];
}

/** Follows a bisect until it ends on the terminal: each run's verdict as it arrives, then where the bisect is; returns it. */
async function follow(client: ApiClient, id: number, json: boolean, timeoutMs?: number): Promise<Bisect> {
  let last = '';
  const b = await watchBisect(
    client,
    id,
    (b, arrived) => {
      if (json) return;
      for (const line of arrived) process.stderr.write(`${isTty() ? '\r\x1b[K' : ''}${line}\n`);
      const line = progressLine(b);
      if (line !== last || (arrived.length > 0 && isTty())) process.stderr.write(isTty() ? `\r\x1b[K${line}` : `${line}\n`);
      last = line;
    },
    timeoutMs,
  );
  if (!json && isTty()) process.stderr.write('\n');
  return b;
}

/**
 * The package a bisect searches and its bad end: as given, else the job's
 * only ss package and the commit the job names for it (a job that failed,
 * or its result root's job.yaml, bisected as it is).
 */
function bisectedOf(file: string, job: Record<string, unknown>, f: StartFlags): { pkg: string; bad: string } {
  const ss = job.ss && typeof job.ss === 'object' && !Array.isArray(job.ss) ? (job.ss as Record<string, Record<string, unknown> | null>) : {};
  const pkgs = Object.keys(ss);
  let pkg = f.pkg;
  if (pkg === undefined) {
    if (pkgs.length !== 1) throw new UserError('bad_usage', pkgs.length === 0 ? `${file} names no ss package to bisect` : `${file} names ss packages ${pkgs.join(', ')}: say which to bisect with --pkg`);
    pkg = pkgs[0]!;
  }
  if (f.bad !== undefined) return { pkg, bad: f.bad };
  const commit = ss[pkg]?.commit;
  if (typeof commit !== 'string' || commit === '') throw new UserError('bad_usage', `no --bad, and ${file} names no commit for ${pkg} (ss.${pkg}.commit) to take as the bad end`);
  return { pkg, bad: commit };
}

/** Prints the answer; exit 1 unless a culprit was found at the confidence asked for (as `bisect run`). */
function finish(b: Bisect, json: boolean): void {
  if (json) printJson(b);
  else process.stdout.write(bisectReport(b));
  const r = b.result;
  if (b.state !== 'done' || !r) throw new FailureError(`bisect ${b.id} ${b.state}${b.error ? `: ${b.error}` : ''}`);
  if (r.first_bad === null) throw new FailureError(`bisect ${b.id} found no single first bad commit (${r.reason})`);
  if (r.stop === 'budget') throw new FailureError(`bisect ${b.id} ran out of its run budget: ${r.first_bad.slice(0, 12)} is a best guess (confidence ${r.confidence.toFixed(3)})`);
}

export function registerBisectLab(program: Command): void {
  const group = bisectGroup(program);

  withJson(withServer(group.command('start')))
    .description('bisect in the lab: submit the job with ss.<pkg>.commit set to the commits the search names')
    .argument('<file>', 'job file (one job after expansion)')
    .argument('[overrides...]', 'key=value overrides')
    .option('--pkg <pkg>', "the ss package to bisect (default: the job's only one)")
    .option('--good <ref>', 'a good commit (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--bad <ref>', "a bad commit (default: the commit the job names for the package: the job you saw fail)")
    .option('--criterion <c>', 'build, function (default) or perf', oneOf(['build', 'function', 'perf'] as const))
    .option('--metric <stat>', 'perf: the stat to compare (suite.key)')
    .option('--direction <dir>', 'perf: which direction is better, lower or higher', oneOf(['lower', 'higher'] as const))
    .option('--errid <stat>', 'function: a stat marking a commit bad when present and non-zero')
    .option('-j, --jobs <k>', 'commits probed at once (default: the testboxes that can run the job)', positiveInt)
    .option('--repeat <n>', 'runs per probe', positiveInt)
    .option('--max-runs <n>', 'runs at most per commit before it counts as skipped', positiveInt)
    .option('--confidence <p>', 'build/function: stop when the most likely first bad commit has this probability (default: 0.95)', probability)
    .option('--budget <n>', 'build/function: runs in all before the most likely commit is reported as a best guess (default: 50 + 30 per halving of the candidates)', positiveInt)
    .option('--false-positives', 'function: the test may also fail before the first bad commit (at a lower rate)')
    .option('--deterministic', 'function: the test always fails after the first bad commit: git bisect\'s cost, and a flaky run is reported as a contradiction (always so for build)')
    .option('--interleave-ends', 'perf: a fresh sample of each end every round, for testboxes whose speed drifts during the bisect')
    .option('--first-parent', 'follow only the first parent of merges')
    .option('--wait', 'follow the bisect until it ends and print its report')
    .option('--timeout <s>', 'with --wait, give up after this long: seconds, or 5m, 1h', duration)
    .action(async (file: string, overrides: string[], f: StartFlags) => {
      if (f.good.length === 0) throw new UserError('bad_usage', 'at least one --good commit is needed');
      const { loaded } = loadFiles({ files: [file], before: [], after: overrides }, {}, 'bisecting its job')[0]!;
      if (loaded.jobs.length !== 1) throw new UserError('bad_usage', `${file} expands to ${loaded.jobs.length} jobs; a bisect needs exactly one`);
      const { pkg, bad } = bisectedOf(file, loaded.jobs[0]!, f);
      const client = clientFor(f);
      let b: Bisect;
      try {
        b = await client.post<Bisect>('/api/bisects', {
          job: loaded.jobs[0],
          pkg,
          good: f.good,
          bad,
          ...(f.criterion ? { criterion: f.criterion } : {}),
          ...(f.metric ? { metric: f.metric } : {}),
          ...(f.direction ? { direction: f.direction } : {}),
          ...(f.errid ? { errid: f.errid } : {}),
          ...(f.jobs ? { slots: f.jobs } : {}),
          ...(f.repeat ? { repeat: f.repeat } : {}),
          ...(f.maxRuns ? { max_runs: f.maxRuns } : {}),
          ...(f.confidence !== undefined ? { confidence: f.confidence } : {}),
          ...(f.budget !== undefined ? { budget: f.budget } : {}),
          ...(f.falsePositives ? { false_positives: true } : {}),
          ...(f.deterministic ? { deterministic: true } : {}),
          ...(f.interleaveEnds ? { interleave_ends: true } : {}),
          ...(f.firstParent ? { first_parent: true } : {}),
        });
      } catch (err) {
        if (err instanceof ApiError) throw locateIssues(loaded, err) ?? err;
        throw err;
      }
      if (!f.wait) {
        if (f.json) printJson(b);
        else out(`bisect id=${b.id} (${b.candidates} candidate commits of ${pkg} between ${f.good.join(',')} and ${bad})`);
        return;
      }
      if (!f.json) out(`bisect id=${b.id} (${b.candidates} candidate commits of ${pkg} between ${f.good.join(',')} and ${bad})`);
      finish(await follow(client, b.id, Boolean(f.json), f.timeout !== undefined ? f.timeout * 1000 : undefined), Boolean(f.json));
    });

  withJson(withServer(group.command('list')))
    .description('the lab bisects, newest first: state, range, and the answer once there is one')
    .option('--limit <n>', 'at most this many', integer(1, 1000), 50)
    .action(async (f: GlobalOptions & { limit: number }) => {
      const list = await clientFor(f).get<Bisect[]>('/api/bisects', { limit: f.limit });
      if (f.json) return printJson(list);
      if (list.length === 0) return out('no bisects');
      out(table(['id', 'pkg', 'criterion', 'range', 'state', 'candidates', 'runs', 'first bad', 'started'], list.map(listRow)));
    });

  withJson(withServer(group.command('show')))
    .description('a lab bisect: its progress, or its result and evidence')
    .argument('<id>')
    .action(async (id: string, f: GlobalOptions) => {
      const b = await clientFor(f).get<Bisect>(`/api/bisects/${parseId(id, 'bisect id')}`);
      if (f.json) printJson(b);
      else process.stdout.write(bisectReport(b));
    });

  withJson(withServer(group.command('wait')))
    .description('follow a lab bisect until it ends; exit 1 unless it found a first bad commit')
    .argument('<id>')
    .option('--timeout <s>', 'give up after this long: seconds, or 5m, 1h', duration)
    .action(async (id: string, f: GlobalOptions & { timeout?: number }) => {
      finish(await follow(clientFor(f), parseId(id, 'bisect id'), Boolean(f.json), f.timeout !== undefined ? f.timeout * 1000 : undefined), Boolean(f.json));
    });

  withJson(withServer(group.command('cancel')))
    .description('cancel a running lab bisect and its probe jobs')
    .argument('<id>')
    .action(async (id: string, f: GlobalOptions) => {
      const b = await clientFor(f).post<Bisect>(`/api/bisects/${parseId(id, 'bisect id')}/cancel`);
      if (f.json) printJson(b);
      else out(`bisect ${b.id} cancelled`);
    });
}
