// `stacklab demo --kernel`: the seed's scenario on this machine, end to
// end. A server, a dc testbox that builds and a vm testbox (qemu) that
// boots; examples/jobs/host-info-vm.yaml is submitted as it ships (ss.linux
// at a commit of the example lab's generated kernel history, config
// tiny-vm): the build, the hold, the release, the boot, host-info's facts
// from inside the guest (the built kernel's version, the guest's CPUs and
// memory). Then the same job three commits on (an incremental build: the
// planted MemTotal change shows), and a lab bisect of "does not boot" that
// finds the planted boot-breaking commit, reusing the builds it has.
import { cpSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Bisect, Build, Comparison, Job } from '../../api/contract.ts';
import { ApiClient } from '../../api/client.ts';
import { buildConfig } from '../../config.ts';
import { DEFAULT_TARBALL, ensureKernelUpstream } from '../../demo/kernel-history.ts';
import { FailureError, UserError } from '../../errors.ts';
import { buildServer } from '../../server/app.ts';
import { loadJobFile } from '../../jobfile/index.ts';
import { out } from '../common.ts';
import { eventLine, followJob } from '../follow.ts';
import { bisectReport, watchBisect } from './bisect-lab.ts';
import { summaryLine } from './jobs.ts';
import { startLocalTestboxes, startLocalVms } from './server.ts';

/** One step of a demo: its jobs, or its bisect. */
export interface DemoStep {
  title: string;
  jobs: Job[];
  bisect?: Bisect;
  note?: string | undefined;
  /** A perf bisect's probes compared by commit (stacklab compare). */
  comparison?: Comparison;
}

export async function kernelDemo(o: { shipped: string; data: string; json: boolean; bisect: boolean }): Promise<{ server: string; steps: DemoStep[] }> {
  const say = o.json ? () => {} : out;
  if (!existsSync(DEFAULT_TARBALL)) throw new UserError('bad_usage', `${DEFAULT_TARBALL} is missing: apt-get install linux-source-6.1 (the kernel history is generated from it)`);
  const labDir = join(o.data, 'lab');
  cpSync(o.shipped, labDir, { recursive: true, filter: (src) => !src.startsWith(join(o.shipped, '.upstreams')) });
  // The history is made once, in the shipped lab (about a minute), and shared by every demo.
  say('stacklab demo --kernel: the lab\'s linux upstream (generated from linux-source-6.1 the first time) …');
  const history = (await ensureKernelUpstream(o.shipped))!;
  writeFileSync(join(labDir, 'upstreams', 'linux', 'linux.yaml'), `url: ${history.dir}\nrecipe: linux\n`);

  const server = await buildServer(buildConfig({ data: o.data, lab: labDir, port: 0 }), { logLevel: 'warn' });
  await server.start();
  const agents = [...(await startLocalTestboxes(server, 1, 'warn')), ...(await startLocalVms(server, 1, 'vm-2p8g', 'warn', !o.json))];
  const api = new ApiClient(server.url);
  const steps: DemoStep[] = [];
  const template = loadJobFile(join(o.shipped, '..', 'jobs', 'host-info-vm.yaml')).jobs[0]!;
  const at = (commit: string) => ({ ...template, ss: { linux: { ...(template.ss as { linux: Record<string, unknown> }).linux, commit } } });
  const run = async (title: string, commit: string): Promise<Job> => {
    say(`\n== ${steps.length + 1}. ${title}`);
    const [r] = await api.post<{ job_id: number }[]>('/api/jobs', [at(commit)]);
    const waiting = await api.get<Job>(`/api/jobs/${r!.job_id}`);
    const ids = [...Object.keys(waiting.ss_wait_jobs).map(Number), r!.job_id];
    say(`  job ${r!.job_id}: ${waiting.waiting ? `held for its kernel build (pkgbuild job ${ids[0]})` : 'its kernel is built already'}`);
    const done = await Promise.all(ids.map((id) => followJob(api, id, { timeoutMs: 45 * 60_000, onEvent: (i, e) => say(`  ${eventLine(i, e)}`) })));
    const job = done.at(-1)!;
    const build = await api.get<Build>(`/api/builds/${job.deps[0]!.build_key}`);
    const builder = build.pkgbuild_job ? await api.get<Job>(`/api/jobs/${build.pkgbuild_job}`) : undefined;
    const output = await api.raw('GET', `/result/${job.result_root.replace(/^\/?result\//, '')}/output`).then((x) => x.text()).catch(() => '');
    say(`  build ${build.key.slice(0, 12)} ${build.state}${builder?.stats?.['pkgbuild.build_seconds'] ? ` in ${Math.round(builder.stats['pkgbuild.build_seconds'])} s` : ''}`);
    say(`  ${summaryLine(job)}`);
    say(`  in the guest: ${/^kernel .*$/m.exec(output)?.[0] ?? '?'}, ${job.stats?.['host-info.nr_cpu'] ?? '?'} CPUs, ${job.stats?.['host-info.memory_total_mb'] ?? '?'} MB`);
    steps.push({ title, jobs: done });
    return job;
  };
  try {
    say(`stacklab demo --kernel: server ${server.url}, testboxes ${agents.map((a) => a.hostname).join(', ')}`);
    await run(`host-info on a vm-2p8g testbox, of linux built at lab-version-change (the first build: minutes)`, history.tags['lab-version-change']!);
    await run('the same job three commits on, at lab-meminfo-change: an incremental build, 16 MB less MemTotal', history.tags['lab-meminfo-change']!);
    if (o.bisect) {
      say(`\n== ${steps.length + 1}. The kernel at the head does not boot. Which commit broke it?`);
      say('   Each probe builds the kernel at a commit (incrementally, in the builder\'s kept tree) and boots it; a panic fails the job.');
      let b = await api.post<Bisect>('/api/bisects', { job: at(history.head), pkg: 'linux', good: history.tags['lab-meminfo-change'], bad: history.head, criterion: 'function', deterministic: true });
      b = await watchBisect(api, b.id, (_b, arrived) => arrived.forEach((line) => say(`  ${line}`)));
      for (const line of bisectReport(b).trimEnd().split('\n')) say(`  ${line}`);
      steps.push({ title: 'kernel boot bisect', jobs: [], bisect: b, note: b.result?.first_bad ? b.result.commits[b.result.first_bad]?.subject : b.state });
      if (b.result?.first_bad !== history.tags['lab-boot-break']) throw new FailureError(`the bisect did not find the planted boot break (${history.tags['lab-boot-break']})`);
    }
    const bad = steps.flatMap((s) => s.jobs).filter((j) => j.job_health !== 'success');
    if (bad.length > 0) throw new FailureError(`${bad.length} demo job(s) did not succeed: ${bad.map((j) => j.id).join(', ')}`);
    return { server: server.url, steps };
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await server.stop();
  }
}
