// The file name lkp's split-job gives an expanded job:
// <file>-<params>[-<commit>…][-<rootfs>].yaml, where <params> are the job's
// program parameters sorted by name, each cut to 31 characters (key=value
// for `=` options), characters outside [-a-zA-Z0-9+=:.%] made `_`, or
// `defaults` when there are none. Which keys are parameters needs an lkp
// tree (program names and options); without one, every variable but the
// job's header fields counts.
import { basename } from 'node:path';
import { EXPAND_DIMS, type LkpTree } from './lkp-tree.ts';
import { rubyToS } from './psych.ts';

type Plain = Record<string, unknown>;
const isMap = (v: unknown): v is Plain => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Ruby's to_s of a parameter value (lists print as Ruby inspects them). */
function rubyS(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (typeof x === 'string' ? JSON.stringify(x) : x === null ? 'nil' : rubyS(x))).join(', ')}]`;
  return rubyToS(v);
}

/** Keys that are a job's header, not its parameters, when no lkp tree says which are. */
const HEADER = new Set([
  'suite', 'testcase', 'category', 'testbox', 'tbox_group', 'arch', 'os', 'os_version', 'os_arch', 'os_mount', 'my_account', 'my_email', 'my_name',
  'my_token', 'priority', 'memory_minimum', 'labels', 'ss', 'job_origin', 'kconfig', 'commit', 'rootfs', 'node_roles', 'cluster', 'lab',
]);
const headerKey = (k: string) => HEADER.has(k) || /^(need_|mail_)/.test(k) || /_commit$/.test(k);

function params(job: Plain, tree: LkpTree | undefined): [string, unknown, string | undefined][] {
  const out: [string, unknown, string | undefined][] = [];
  if (tree) {
    // lkp's each_param: the options of the programs the job names, and every program name.
    const types = new Map<string, string>([['cluster', '-']]);
    const walkRefs = (m: Plain) => {
      for (const [k, v] of Object.entries(m)) {
        if (tree.programs.has(k)) for (const [t, o] of tree.programs.get(k)!) types.set(o, t);
        if (isMap(v)) walkRefs(v);
      }
    };
    walkRefs(job);
    for (const [t, o] of tree.wrapperOptions) types.set(o, t);
    const walk = (m: Plain, parent: string | undefined) => {
      for (const [k, v] of Object.entries(m)) {
        if ((types.has(k) || tree.programs.has(k)) && !isMap(v) && !(parent !== undefined && tree.monitors.has(parent))) out.push([k, v, types.get(k)]);
        if (isMap(v)) walk(v, k);
      }
    };
    walk(job, undefined);
  } else {
    const walk = (m: Plain, top: boolean) => {
      for (const [k, v] of Object.entries(m)) {
        if (top && headerKey(k)) continue;
        if (isMap(v)) walk(v, false);
        else out.push([k, v, undefined]);
      }
    };
    walk(job, true);
  }
  return out;
}

/** lkp's path_params: the parameter part of a job's name. */
export function pathParams(job: Plain, tree?: LkpTree): string {
  const sorted = params(job, tree).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let path = '';
  for (const [k, v, type] of sorted) {
    if (type === '=') {
      path += v !== null && v !== undefined && v !== '' ? `${k}=${rubyS(v).slice(0, 31)}` : k;
      path += '-';
      continue;
    }
    if (v === null || v === undefined || v === false) continue;
    path += `${rubyS(v).slice(0, 31)}-`;
  }
  return path === '' ? 'defaults' : path.replace(/-$/, '').replace(/[^-a-zA-Z0-9+=:.%]/g, '_');
}

/** The file name split-job writes a job to (without a directory). */
export function jobName(job: Plain, sourceFile: string, tree?: LkpTree): string {
  let name = `${basename(sourceFile, '.yaml')}-${pathParams(job, tree)}`;
  for (const dim of EXPAND_DIMS.filter((d) => d.includes('commit'))) {
    const v = job[dim];
    if (v !== null && v !== undefined && v !== false) name += `-${rubyS(v)}`;
  }
  if (typeof job.rootfs === 'string') name += `-${job.rootfs.split(/[^a-zA-Z0-9._-]/).pop()}`;
  return `${name}.yaml`;
}
