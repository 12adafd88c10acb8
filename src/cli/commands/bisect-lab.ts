// `stacklab bisect start/show/wait/cancel`: bisection in the lab (SPEC §7).
// The job file is loaded here (errors with file:line:col) and sent with the
// range; the server drives the bisect; these commands follow its progress.
import type { Command } from 'commander';
import { ApiError, type ApiClient } from '../../api/client.ts';
import { FailureError, UserError } from '../../errors.ts';
import { loadJobFile } from '../../jobfile/index.ts';
import { formatReport } from '../bisect-report.ts';
import type { Bisect } from '../../api/contract.ts';
import { clientFor, isTty, out, parseId, printJson, withJson, withServer, type GlobalOptions } from '../common.ts';
import { bisectGroup } from './bisect.ts';
import { duration, oneOf, positiveInt } from '../options.ts';
import { locateIssues } from './submit.ts';

interface StartFlags extends GlobalOptions {
  pkg: string;
  good: string[];
  bad: string;
  criterion?: string;
  metric?: string;
  direction?: string;
  errid?: string;
  jobs?: number;
  repeat?: number;
  maxRuns?: number;
  firstParent?: boolean;
  wait?: boolean;
  timeout?: number;
}


function progressLine(b: Bisect): string {
  const p = b.progress;
  const running = b.jobs.filter((j) => !j.recorded).length;
  return `bisect ${b.id} ${b.state}: round ${p.rounds}, ${p.remaining} candidate${p.remaining === 1 ? '' : 's'} left, ${p.judged} judged, ${p.samples} runs, ${running} job${running === 1 ? '' : 's'} running`;
}

/** The engine's report, with each commit's subject and author. */
export function bisectReport(b: Bisect): string {
  if (!b.result) return `${progressLine(b)}${b.error ? `\nerror: ${b.error}` : ''}\n`;
  const names = new Map(Object.entries(b.result.commits).map(([sha, c]) => [sha, `${c.subject} — ${c.author}, ${c.date.slice(0, 10)}`]));
  const head = `bisect ${b.id}: ${b.pkg} ${b.criterion}${b.metric ? ` ${b.metric} (${b.direction} is better)` : ''}, ${b.request.good.join(',')}..${b.request.bad} (${b.candidates} candidates)\n`;
  return head + formatReport(b.result, { criterion: b.criterion as 'build', ...(b.metric ? { metric: b.metric } : {}) }, names);
}

/** Follows a bisect until it ends, a line per change; returns it. */
async function follow(client: ApiClient, id: number, json: boolean, timeoutMs?: number): Promise<Bisect> {
  const deadline = timeoutMs ? Date.now() + timeoutMs : Infinity;
  let seen = -1;
  let last = '';
  for (;;) {
    const wait = Math.max(0, Math.min(30, (deadline - Date.now()) / 1000));
    const b = await client.get<Bisect>(`/api/bisects/${id}`, { wait: wait.toFixed(3), seen });
    seen = b.progress.log;
    if (!json) {
      const line = progressLine(b);
      if (line !== last) process.stderr.write(isTty() ? `\r\x1b[K${line}` : `${line}\n`);
      last = line;
    }
    if (b.state !== 'running') {
      if (!json && isTty()) process.stderr.write('\n');
      return b;
    }
    if (Date.now() >= deadline) throw new FailureError(`bisect ${id} did not end within ${Math.round((timeoutMs ?? 0) / 1000)} s`);
  }
}

function finish(b: Bisect, json: boolean): void {
  if (json) printJson(b);
  else process.stdout.write(bisectReport(b));
  if (b.state !== 'done' || !b.result?.first_bad) {
    throw new FailureError(b.state === 'done' ? `bisect ${b.id} found no single first bad commit (${b.result?.reason})` : `bisect ${b.id} ${b.state}${b.error ? `: ${b.error}` : ''}`);
  }
}

export function registerBisectLab(program: Command): void {
  const group = bisectGroup(program);

  withJson(withServer(group.command('start')))
    .description('bisect in the lab: submit the job with ss.<pkg>.commit set to the commits the search names')
    .argument('<file>', 'job file (one job after expansion)')
    .argument('[overrides...]', 'key=value overrides')
    .requiredOption('--pkg <pkg>', 'the ss package to bisect')
    .option('--good <ref>', 'a good commit (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .requiredOption('--bad <ref>', 'a bad commit')
    .option('--criterion <c>', 'build, function (default) or perf', oneOf(['build', 'function', 'perf'] as const))
    .option('--metric <stat>', 'perf: the stat to compare (suite.key)')
    .option('--direction <dir>', 'perf: which direction is better, lower or higher', oneOf(['lower', 'higher'] as const))
    .option('--errid <stat>', 'function: a stat marking a commit bad when present and non-zero')
    .option('-j, --jobs <k>', 'commits probed at once (default: the testboxes that can run the job)', positiveInt)
    .option('--repeat <n>', 'runs per probe', positiveInt)
    .option('--max-runs <n>', 'runs at most per commit before it counts as skipped', positiveInt)
    .option('--first-parent', 'follow only the first parent of merges')
    .option('--wait', 'follow the bisect until it ends and print its report')
    .option('--timeout <s>', 'with --wait, give up after this long: seconds, or 5m, 1h', duration)
    .action(async (file: string, overrides: string[], f: StartFlags) => {
      if (f.good.length === 0) throw new UserError('bad_usage', 'at least one --good commit is needed');
      const loaded = loadJobFile(file, overrides);
      if (loaded.jobs.length !== 1) throw new UserError('bad_usage', `${file} expands to ${loaded.jobs.length} jobs; a bisect needs exactly one`);
      const client = clientFor(f);
      let b: Bisect;
      try {
        b = await client.post<Bisect>('/api/bisects', {
          job: loaded.jobs[0],
          pkg: f.pkg,
          good: f.good,
          bad: f.bad,
          ...(f.criterion ? { criterion: f.criterion } : {}),
          ...(f.metric ? { metric: f.metric } : {}),
          ...(f.direction ? { direction: f.direction } : {}),
          ...(f.errid ? { errid: f.errid } : {}),
          ...(f.jobs ? { slots: f.jobs } : {}),
          ...(f.repeat ? { repeat: f.repeat } : {}),
          ...(f.maxRuns ? { max_runs: f.maxRuns } : {}),
          ...(f.firstParent ? { first_parent: true } : {}),
        });
      } catch (err) {
        if (err instanceof ApiError) throw locateIssues(loaded, err) ?? err;
        throw err;
      }
      if (!f.wait) {
        if (f.json) printJson(b);
        else out(`bisect id=${b.id} (${b.candidates} candidate commits between ${f.good.join(',')} and ${f.bad})`);
        return;
      }
      if (!f.json) out(`bisect id=${b.id} (${b.candidates} candidate commits)`);
      finish(await follow(client, b.id, Boolean(f.json), f.timeout !== undefined ? f.timeout * 1000 : undefined), Boolean(f.json));
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
