// Compares stacklab's reading of lkp-tests job files with lkp's own.
//
//   LKP_SRC=/path/to/lkp-tests npx node scripts/lkp-compare.ts [--quick] [files…]
//
// For every job file under $LKP_SRC/jobs (or the files given), lkp's Job
// class expands it as `sbin/split-job --no-defaults` does (a few lines of
// Ruby written to a temporary file: load with templates, the keys split-job
// sets, each_jobs), and `stacklab split --json` expands it twice: with the
// lkp tree (--lkp-src: lists expand where lkp's program options say) and
// without one (every list expands). A file is the same when it gives the
// same number of jobs, in the same order, with every variable's value
// equal, after dropping what split-job itself adds to every job:
//   testbox, tbox_group  the host split-job runs for (-t; we pass lkp-compare):
//                        it overwrites the file's own, so neither side's is compared
//   arch                 the host's architecture, set when the job has none
//   job_origin           the file's own path, set by Job#load when absent
//   node_roles           'server client', set when the job has cluster:
//   `#!`/comment keys    Ruby symbols lkp keeps for comments in saved files
// (arch, job_origin and node_roles dropped only where they hold exactly the
// value split-job put there).
// Needs ruby and lkp's Ruby dependencies (Debian: ruby ruby-activesupport).
// --quick skips lkp (reuses the last run's /tmp/lkp-compare-lkp.json).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const LKP_SRC = process.env.LKP_SRC;
if (!LKP_SRC || !existsSync(join(LKP_SRC, 'lib', 'job.rb'))) {
  process.stderr.write('LKP_SRC must point at an lkp-tests tree\n');
  process.exit(2);
}
const root = resolve(LKP_SRC);
const repo = resolve(import.meta.dirname, '..');
const quick = process.argv.includes('--quick');
const given = process.argv.slice(2).filter((a) => !a.startsWith('--'));

function jobFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...jobFiles(p));
    else if (/\.ya?ml$/.test(e)) out.push(p);
  }
  return out;
}
const files = (given.length > 0 ? given.map((f) => resolve(f)) : jobFiles(join(root, 'jobs'))).map((f) => relative(root, f));

const RUBY = `
require "#{ENV['LKP_SRC']}/lib/job"
require 'json'
# JSON of what Ruby holds, as stacklab writes it: floats that JSON would print
# otherwise keep Ruby's to_s, integers past 2**53 their digits, other objects to_s.
def plain(v)
  case v
  when Hash then v.each_with_object({}) { |(k, x), h| h[k.to_s] = plain(x) unless k.is_a?(Symbol) }
  when Array then v.map { |x| plain(x) }
  when Float then (v.finite? && v.to_s =~ /\\A-?\\d+\\.\\d*[1-9]\\z/) ? v : v.to_s
  when Integer then v.abs <= 2**53 - 1 ? v : v.to_s
  when String, true, false, nil then v
  else v.to_s
  end
end
res = {}
ARGV.each do |file|
  begin
    out = []
    jobs = Job.new
    jobs.load(file, expand_template: true)
    jobs['testbox'] = 'lkp-compare'
    jobs['arch'] ||= 'x86_64'
    jobs['tbox_group'] = 'lkp-compare'
    jobs['node_roles'] = 'server client' if jobs['cluster']
    jobs[:no_defaults] = true
    jobs.each_jobs do |job|
      # The file name split-job writes the job to.
      name = "#{File.basename(file, '.yaml')}-#{job.path_params}"
      Job::EXPAND_DIMS.grep(/commit/).each { |dim| name += "-#{job[dim]}" if job[dim] }
      name += "-#{rootfs_filename(job['rootfs'])}" if job['rootfs']
      out << { 'name' => "#{name}.yaml", 'job' => plain(job.to_hash) }
    end
    res[file] = out
  rescue StandardError, ScriptError => e
    res[file] = { 'error' => "#{e.class}: #{e.message}" }
  end
end
puts JSON.generate(res)
`;

type Job = Record<string, unknown>;
type Side = Record<string, { name: string; job: Job }[] | { error: string }>;

async function lkpSide(): Promise<Side> {
  const cache = '/tmp/lkp-compare-lkp.json';
  if (quick && existsSync(cache)) return JSON.parse(readFileSync(cache, 'utf8')) as Side;
  const script = '/tmp/lkp-compare.rb';
  writeFileSync(script, RUBY);
  process.stderr.write(`lkp: expanding ${files.length} files (a few minutes)…\n`);
  const { stdout } = await run('nice', ['-n', '15', 'ruby', script, ...files], { cwd: root, env: { ...process.env, LKP_SRC: root }, maxBuffer: 1 << 30 });
  writeFileSync(cache, stdout);
  return JSON.parse(stdout) as Side;
}

async function ourSide(tree: boolean): Promise<Side> {
  const env = { ...process.env };
  delete env.LKP_SRC;
  const split = async (fs: string[]) => {
    const args = [join(repo, 'bin', 'stacklab.js'), 'split', '--json', ...(tree ? ['--lkp-src', root] : []), ...fs];
    const { stdout } = await run(process.execPath, args, { cwd: root, env, maxBuffer: 1 << 30 });
    return JSON.parse(stdout) as { file: string; name: string; job: Job }[];
  };
  const out: Side = {};
  try {
    for (const f of files) out[f] = [];
    for (const r of await split(files)) (out[r.file] as { name: string; job: Job }[]).push({ name: r.name, job: r.job });
  } catch {
    // One bad file fails the batch: then file by file, to see which.
    for (const f of files) {
      try {
        out[f] = (await split([f])).map((r) => ({ name: r.name, job: r.job }));
      } catch (err) {
        out[f] = { error: String((err as { stderr?: string }).stderr ?? err).trim() };
      }
    }
  }
  return out;
}

/** lkp's job without what split-job added by itself. */
function dropLkpDefaults(job: Job, file: string): Job {
  const j = { ...job };
  delete j.testbox;
  delete j.tbox_group;
  const injected: Record<string, unknown> = { arch: 'x86_64', job_origin: file, node_roles: 'server client' };
  for (const [k, v] of Object.entries(injected)) if (j[k] === v) delete j[k];
  return j;
}

/** split-job overwrites testbox and tbox_group: the file's own are not compared. */
function dropHost(job: Job): Job {
  const j = { ...job };
  delete j.testbox;
  delete j.tbox_group;
  return j;
}

function diff(a: unknown, b: unknown, path: string): string | undefined {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return `${path}: ${a.length} items vs ${b.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = diff(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = diff((a as Job)[k], (b as Job)[k], path ? `${path}.${k}` : k);
      if (d) return d;
    }
    return undefined;
  }
  return a === b ? undefined : `${path}: lkp ${JSON.stringify(a)} vs stacklab ${JSON.stringify(b)}`;
}

function compare(lkp: Side, ours: Side, names: boolean): { same: number; differ: [string, string][] } {
  let same = 0;
  const differ: [string, string][] = [];
  for (const f of files) {
    const l = lkp[f];
    const o = ours[f];
    if (!l || !Array.isArray(l)) {
      differ.push([f, `lkp fails: ${(l as { error?: string } | undefined)?.error ?? 'no result'}`]);
      continue;
    }
    if (!o || !Array.isArray(o)) {
      differ.push([f, `stacklab refuses: ${(o as { error?: string } | undefined)?.error.split('\n').slice(-3).join(' | ') ?? 'no result'}`]);
      continue;
    }
    if (l.length !== o.length) {
      differ.push([f, `lkp makes ${l.length} jobs, stacklab ${o.length}`]);
      continue;
    }
    let d: string | undefined;
    for (let i = 0; i < l.length && !d; i++) {
      d = diff(dropLkpDefaults(l[i]!.job, f), dropHost(o[i]!.job), '');
      if (d) d = `job ${i + 1}: ${d}`;
      else if (names && l[i]!.name !== o[i]!.name.replace(/~\d+\.yaml$/, '.yaml')) d = `job ${i + 1}: named ${l[i]!.name} by lkp, ${o[i]!.name} by stacklab`;
    }
    if (d) differ.push([f, d]);
    else same++;
  }
  return { same, differ };
}

const lkp = await lkpSide();
const jobsLkp = Object.values(lkp).reduce((n, v) => n + (Array.isArray(v) ? v.length : 0), 0);
for (const [label, tree] of [['with the lkp tree (--lkp-src)', true], ['without an lkp tree', false]] as const) {
  const ours = await ourSide(tree);
  const jobsOurs = Object.values(ours).reduce((n, v) => n + (Array.isArray(v) ? v.length : 0), 0);
  const loaded = Object.values(ours).filter((v) => Array.isArray(v)).length;
  const { same, differ } = compare(lkp, ours, false);
  const namedRun = tree ? compare(lkp, ours, true) : undefined;
  const named = namedRun?.same;
  console.log(`\n${label}: ${loaded}/${files.length} files load; ${same}/${files.length} (${((100 * same) / files.length).toFixed(1)} %) give lkp's jobs; ${jobsOurs} jobs (lkp: ${jobsLkp})${named === undefined ? '' : `; ${named} files also name every job as split-job does`}`);
  for (const [f, why] of differ) console.log(`  ${f}: ${why}`);
  for (const [f, why] of namedRun?.differ ?? []) if (!differ.some(([g]) => g === f)) console.log(`  (name) ${f}: ${why}`);
}
