// `stacklab demo`: the whole story on the example lab, end to end, in one
// process: a server and two testboxes on loopback, a plain job, a job whose
// software stack is built first (the hold and the release), the same job
// again served from the build cache, then two bisections in the lab that
// find the performance regression and the functional bug the demo
// package's history generator planted. `--kernel` tells the kernel story
// instead (demo-kernel.ts).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ApiClient } from '../../api/client.ts';
import { buildConfig, defaultLabDir } from '../../config.ts';
import { FailureError } from '../../errors.ts';
import { buildServer } from '../../server/app.ts';
import type { Build } from '../../api/contract.ts';
import type { Job } from '../../api/contract.ts';
import type { Bisect } from '../../api/contract.ts';
import type { Comparison } from '../../api/contract.ts';
import { comparisonText } from './compare.ts';
import { bisectReport, watchBisect } from './bisect-lab.ts';
import { ensureDemoUpstream } from '../../demo/upstream.ts';
import { out, printJson } from '../common.ts';
import { eventLine, followJob } from '../follow.ts';
import { startLocalTestboxes } from './server.ts';
import { summaryLine } from './jobs.ts';
import { kernelDemo, type DemoStep } from './demo-kernel.ts';

interface Flags {
  data?: string;
  keep?: boolean;
  json?: boolean;
  bisect?: boolean;
  kernel?: boolean;
}

export type { DemoStep };

const loadJob = (file: string) => import('../../jobfile/index.ts').then((m) => m.loadJobFile(file).jobs);

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('the whole story on the demo package, end to end, then stop')
    .option('--data <dir>', 'data directory (default: a temporary one, removed afterwards)')
    .option('--keep', 'keep the temporary data directory')
    .option('--no-bisect', 'stop before the bisections')
    .option('--kernel', 'the kernel story instead: build linux, boot it on a vm testbox, run host-info in the guest, bisect a boot break (qemu, linux-source-6.1; the first build takes minutes)')
    .option('--json', 'print a JSON summary instead of the story')
    .action(async (f: Flags) => {
      const say = f.json ? () => {} : out;
      const shipped = defaultLabDir();
      const jobsDir = join(shipped, '..', 'jobs');
      const data = f.data ?? mkdtempSync(join(tmpdir(), 'stacklab-demo-'));
      if (f.kernel) {
        try {
          const r = await kernelDemo({ shipped, data, json: !!f.json, bisect: f.bisect !== false });
          if (f.json) printJson({ server: r.server, data, steps: r.steps.map((s) => ({ title: s.title, note: s.note, jobs: s.jobs.map(({ timeline: _t, ...j }) => j), ...(s.bisect ? { bisect: s.bisect } : {}) })) });
          else say(`\nDone. ${r.steps.length} steps; results under ${join(data, 'srv', 'result')}${f.data || f.keep ? '' : ' (removed now; --keep keeps them)'}`);
        } finally {
          if (!f.data && !f.keep) rmSync(data, { recursive: true, force: true });
        }
        return;
      }
      // The demo works on its own copy of the example lab, its upstream generated there: it leaves the checkout as it found it.
      const labDir = join(data, 'lab');
      cpSync(shipped, labDir, { recursive: true, filter: (src) => !src.startsWith(join(shipped, '.upstreams')) });
      const upstream = await ensureDemoUpstream(labDir);
      const server = await buildServer(buildConfig({ data, lab: labDir, port: 0 }), { logLevel: 'warn' });
      await server.start();
      const agents = await startLocalTestboxes(server, 2, 'warn');
      const api = new ApiClient(server.url);
      const steps: DemoStep[] = [];
      const follow = async (ids: number[]) =>
        Promise.all(ids.map((id) => followJob(api, id, { timeoutMs: 600_000, onEvent: (i, e) => say(`  ${eventLine(i, e)}`) })));
      const submit = async (jobs: unknown[]) => (await api.post<{ job_id: number }[]>('/api/jobs', jobs)).map((r) => r.job_id);
      try {
        say(`stacklab demo: server ${server.url}, testboxes ${agents.map((a) => a.hostname).join(', ')}`);
        say(`  lab ${labDir}${upstream ? `, demo upstream ${upstream}` : ''}, data ${data}`);

        say('\n== 1. A plain job: the host-info suite reports real facts about the testbox');
        const plain = await follow(await submit(await loadJob(join(jobsDir, 'host-info.yaml'))));
        for (const j of plain) say(`  ${summaryLine(j)}`);
        steps.push({ title: 'plain job', jobs: plain });

        say('\n== 2. A job with a software stack: ss.demo at v1.1 with config default');
        say('   The scheduler resolves v1.1 to a sha, takes the build key, finds no build, creates one and its pkgbuild');
        say('   job, and holds the test job (waiting) until the build closes; then releases it at once.');
        const demoJob = await loadJob(join(jobsDir, 'demo.yaml'));
        const [first] = await submit(demoJob);
        const waiting = await api.get<Job>(`/api/jobs/${first}`);
        say(`  job ${first}: waiting=${waiting.waiting} ss_wait_jobs=${JSON.stringify(waiting.ss_wait_jobs)}`);
        const pkgbuild = Number(Object.keys(waiting.ss_wait_jobs)[0]);
        const [built, test] = await follow([pkgbuild, first!]);
        const build = await api.get<Build>(`/api/builds/${test!.deps[0]!.build_key}`);
        say(`  build ${build.key.slice(0, 12)}: ${build.state}, ${build.files.map((x) => `${x.url} (${x.size} bytes, sha256 ${x.sha256.slice(0, 12)}…)`).join(', ')}`);
        say(`  ${summaryLine(built!)}`);
        say(`  ${summaryLine(test!)}`);
        steps.push({ title: 'job with ss: build, hold, release', jobs: [built!, test!] });

        say('\n== 3. The same job again: the build is reused from the cache, nothing is built');
        const again = await follow(await submit(demoJob));
        const builds = await api.get<Build[]>('/api/builds', { pkg: 'demo' });
        for (const j of again) say(`  ${summaryLine(j)}  (${j.timeline!.some((e) => e.event === 'reuse') ? 'reused build' : 'built again?'})`);
        say(`  builds of demo in the cache: ${builds.length}`);
        steps.push({ title: 'resubmit: build reused', jobs: again, note: `${builds.length} build(s)` });

        if (f.bisect !== false) {
          const template = demoJob[0]!;
          const bisect = async (title: string, explain: string, body: Record<string, unknown>) => {
            say(`\n== ${steps.length + 1}. ${title}`);
            say(`   ${explain}`);
            let b = await api.post<Bisect>('/api/bisects', { job: template, pkg: 'demo', ...body });
            say(`  bisect ${b.id}: ${b.candidates} candidate commits`);
            b = await watchBisect(api, b.id, (_b, arrived) => arrived.forEach((line) => say(`  ${line}`)));
            for (const line of bisectReport(b).trimEnd().split('\n')) say(`  ${line}`);
            let comparison: Comparison | undefined;
            if (b.metric && b.result?.first_bad && b.result.parent) {
              // lkp's compare of the probes at the good end, the parent and the first bad commit: the regression as a change %
              const all = await api.get<Comparison>('/api/compare', { group_by: 'ss.demo.commit', bisect: b.id, stat: b.metric });
              const keys = [b.good[0]!, b.result.parent, b.result.first_bad].filter((k, i, ks) => ks.indexOf(k) === i && all.groups.some((g) => g.key === k));
              comparison = await api.get<Comparison>('/api/compare', { group_by: 'ss.demo.commit', bisect: b.id, stat: b.metric, groups: keys.join(',') });
              say(`  stacklab compare -g ss.demo.commit --bisect ${b.id} --stat ${b.metric} --groups ${keys.map((k) => k.slice(0, 12)).join(',')}`);
              for (const line of comparisonText(comparison).split('\n')) say(line ? `    ${line}` : '');
            }
            steps.push({ title, jobs: [], bisect: b, note: b.result?.first_bad ? b.result.commits[b.result.first_bad]?.subject : b.state, ...(comparison ? { comparison } : {}) });
          };
          await bisect(
            'A performance regression: v1.1 is fast, v1.2 is slower. Which commit?',
            'Each probe builds the demo at a commit (or reuses the build) and runs its benchmark; samples are compared by rank tests, more runs where unclear.',
            { good: 'v1.1', bad: 'v1.2', metric: 'demo-test.ops_per_sec', direction: 'higher' },
          );
          await bisect('A functional bug: v1.2 passes its self-test, v2.0 fails it. Which commit?', 'The job fails at a bad commit; a commit whose build fails would be skipped, never blamed.', {
            good: 'v1.2',
            bad: 'v2.0',
          });
        }

        const bad = steps.flatMap((s) => s.jobs).filter((j) => j.suite !== 'demo-test' && j.job_health !== 'success');
        if (f.json) printJson({ server: server.url, data, steps: steps.map((s) => ({ title: s.title, note: s.note, jobs: s.jobs.map(({ timeline: _t, ...j }) => j), ...(s.bisect ? { bisect: s.bisect } : {}), ...(s.comparison ? { comparison: s.comparison } : {}) })) });
        else say(`\nDone. ${steps.length} steps; results under ${join(data, 'srv', 'result')}${f.data || f.keep ? '' : ' (removed now; --keep keeps them)'}`);
        if (bad.length > 0) throw new FailureError(`${bad.length} demo job(s) did not succeed: ${bad.map((j) => j.id).join(', ')}`);
      } finally {
        await Promise.all(agents.map((a) => a.stop()));
        await server.stop();
        if (!f.data && !f.keep) rmSync(data, { recursive: true, force: true });
      }
    });
}
