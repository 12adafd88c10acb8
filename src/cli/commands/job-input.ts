// What `split` and `submit` share: job files and key=value arguments in any
// order (as lkp's split-job and compass-ci's submit take them), the layers
// around a file (-s snippets, -i include files, -c defaults files), where
// includes are searched, the lkp tree that decides expansion, and printing
// warnings.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { defaultLkpSrc } from '../../config.ts';
import { UserError } from '../../errors.ts';
import { formatIssue, JobFileError, loadJobFile, type JobFileIssue, type Layer, type LoadedJobs, type LoadOptions, type SourcePos } from '../../jobfile/index.ts';
import { Lab } from '../../lab.ts';

export interface JobInputFlags {
  set?: string[];
  include?: string[];
  config?: string[];
  strict?: boolean;
  lkpSrc?: string;
  includePath?: string[];
  lab?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function withJobInput(cmd: Command, opts: { layers: boolean }): Command {
  if (opts.layers) {
    cmd
      .option('-s, --set <yaml>', "add a YAML mapping to every job, over the file ('testbox: vm-2p8g'); repeatable", collect)
      .option('-i, --include <file>', 'merge a YAML file into every job: under the job when written before the job file, over it when after; repeatable', collect)
      .option('-c, --config <file>', 'a defaults file (my_account, my_email, testbox …) under every job, like ~/.config/compass-ci/defaults/*.yaml; repeatable', collect);
  } else cmd.option('-s, --set <yaml>', "add a YAML mapping to every job ('fs: xfs'); repeatable", collect);
  return cmd
    .option('--strict', 'near misses of the fields stacklab reads (runtim:, ss.linux.comit) are errors, not warnings')
    .option('--lkp-src <dir>', 'an lkp-tests tree (default: $LKP_SRC): lists expand exactly where lkp expands them, jobs are named as lkp names them, includes are searched there')
    .option('-I, --include-path <dir>', 'a directory searched for `<<:` includes after the file’s own; repeatable', collect)
    .option('--lab <dir>', 'a lab directory: its job_dirs (default: jobs/) are searched for includes and its lkp_src is used');
}

/** The user's own defaults file, read by every submit if it exists. */
export const userDefaultsFile = (): string => join(homedir(), '.config', 'stacklab', 'defaults.yaml');

export interface JobArgs {
  files: string[];
  /** key=value before the first job file: defaults (compass-ci); after: overrides. */
  before: string[];
  after: string[];
}

export function splitArgs(args: string[]): JobArgs {
  const out: JobArgs = { files: [], before: [], after: [] };
  for (const a of args) {
    if (a.includes('=')) (out.files.length === 0 ? out.before : out.after).push(a);
    else out.files.push(a);
  }
  if (out.files.length === 0) throw new UserError('bad_usage', 'no job file given');
  return out;
}

/** -i files written before the first job file (defaults) and after it (overrides), from the raw command line. */
function includesByPlace(raw: string[], files: string[], includes: string[]): { under: string[]; over: string[] } {
  const firstFile = raw.findIndex((a) => files.includes(a));
  const under: string[] = [];
  const over: string[] = [];
  let searchFrom = 0;
  for (const inc of includes) {
    let at = -1;
    for (let i = searchFrom; i < raw.length; i++) {
      const a = raw[i]!;
      if (((a === '-i' || a === '--include') && raw[i + 1] === inc) || a === `--include=${inc}` || a === `-i${inc}`) {
        at = i;
        break;
      }
    }
    if (at >= 0) searchFrom = at + 1;
    (at >= 0 && firstFile >= 0 && at < firstFile ? under : over).push(inc);
  }
  return { under, over };
}

export function loadOptions(flags: JobInputFlags, args: JobArgs, raw: string[], o: { userDefaults: boolean; requireSuite: boolean }): LoadOptions {
  const search = [...(flags.includePath ?? [])];
  let lkpSrc = flags.lkpSrc ?? defaultLkpSrc();
  if (flags.lab) {
    const s = new Lab(flags.lab).jobSearch();
    search.push(...s.searchPath);
    lkpSrc ??= s.lkpSrc;
  }
  if (lkpSrc !== undefined && !existsSync(join(lkpSrc, 'programs'))) throw new UserError('bad_usage', `${lkpSrc} is not an lkp-tests tree (no programs/)`);
  const { under, over } = includesByPlace(raw, args.files, flags.include ?? []);
  const defaults: Layer[] = [];
  if (o.userDefaults && existsSync(userDefaultsFile())) defaults.push({ file: userDefaultsFile() });
  for (const c of flags.config ?? []) defaults.push({ file: c });
  defaults.push(...under.map((file) => ({ file })));
  if (args.before.length > 0) defaults.push({ assign: args.before });
  const overlays: Layer[] = [...over.map((file) => ({ file })), ...(flags.set ?? []).map((yaml, i) => ({ yaml, name: `-s #${i + 1}` }))];
  return { searchPath: search, ...(lkpSrc ? { lkpSrc } : {}), strict: flags.strict === true, requireSuite: o.requireSuite, defaults, overlays };
}

export interface LoadedFile {
  file: string;
  loaded: LoadedJobs;
}

/**
 * Every file loaded, or one error with every file's issues. Warnings are
 * printed to stderr, and so is what a result root's job.yaml becomes
 * (`rerun`: what is done with its job).
 */
export function loadFiles(args: JobArgs, opts: LoadOptions, rerun = 'a rerun'): LoadedFile[] {
  const out: LoadedFile[] = [];
  const issues: JobFileIssue[] = [];
  for (const file of args.files) {
    try {
      out.push({ file, loaded: loadJobFile(file, args.after, opts) });
    } catch (err) {
      if (err instanceof JobFileError) issues.push(...err.issues);
      else throw err;
    }
  }
  if (issues.length > 0) throw new JobFileError(issues);
  for (const f of out) {
    for (const w of f.loaded.warnings) process.stderr.write(`stacklab: warning: ${formatIssue(w)}\n`);
    if (f.loaded.rerunOf !== undefined) process.stderr.write(`stacklab: ${f.file} is the job.yaml of job ${f.loaded.rerunOf}: ${rerun}, as you (its id, result_root and my_account left out)\n`);
  }
  return out;
}

/** Several files' jobs as one list, with one locate over all of them. */
export function combined(files: LoadedFile[]): LoadedJobs {
  const jobs = files.flatMap((f) => f.loaded.jobs);
  const owner: [LoadedFile, number][] = files.flatMap((f) => f.loaded.jobs.map((_, i) => [f, i] as [LoadedFile, number]));
  return {
    jobs,
    warnings: files.flatMap((f) => f.loaded.warnings),
    names: files.flatMap((f) => f.loaded.names),
    locate(index: number, path: (string | number)[]): SourcePos {
      const o = owner[index];
      return o ? o[0].loaded.locate(o[1], path) : { file: files[0]?.file ?? '', line: 1, col: 1 };
    },
  };
}

/** The command line as typed (commander keeps it on the root program): where each -i stands. */
export const rawArgsOf = (program: Command): string[] => (program as Command & { rawArgs?: string[] }).rawArgs ?? [];
