// What an lkp-tests tree says about a job's keys: which keys name lkp
// programs (programs/<name>/{setup,run,daemon}, monitors) and which are
// their options (the `# - name` / `# = name` lines at the top of each
// script, up to the first empty line, as lkp's bin/program-options reads
// them). With a tree, lists expand exactly where lkp expands them and
// split names its jobs as lkp does; without one, every list expands.
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Keys lkp always expands (Job::EXPAND_DIMS). */
export const EXPAND_DIMS = ['kconfig', 'commit', 'rootfs', 'ltp_commit', 'nvml_commit', 'blktests_commit', 'qemu_commit', 'perf_test_commit', 'linux_commit'];

export interface LkpTree {
  root: string;
  /** Workload programs (setup, tests, daemons) → their options [type, name], in script order; type `=` names print as key=value in a job's name. */
  programs: Map<string, [string, string][]>;
  monitors: Set<string>;
  /** Options of lkp's run-test and run-daemon wrappers (nr_instances …), in every job's set. */
  wrapperOptions: [string, string][];
}

const executable = (p: string): boolean => {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The options a script declares before its first empty line. */
export function scriptOptions(file: string): [type: string, name: string][] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: [string, string][] = [];
  for (const line of text.split('\n')) {
    const m = /^# ([-=]) ([a-zA-Z0-9_.]+)$/.exec(line);
    if (m) out.push([m[1]!, m[2]!]);
    if (line === '') break;
  }
  return out;
}

const cache = new Map<string, LkpTree>();

export function readLkpTree(dir: string): LkpTree {
  const root = resolve(dir);
  const hit = cache.get(root);
  if (hit) return hit;
  let names: string[] = [];
  try {
    names = readdirSync(join(root, 'programs')).sort();
  } catch {
    /* not an lkp tree: no programs */
  }
  const scripts = new Map<string, string>();
  // Later kinds win, as lkp merges setup, then tests, then daemons.
  for (const script of ['setup', 'run', 'daemon']) for (const n of names) if (executable(join(root, 'programs', n, script))) scripts.set(n, join(root, 'programs', n, script));
  const monitors = new Set<string>();
  for (const script of ['monitor', 'no-stdout-monitor', 'one-shot-monitor', 'plain-monitor']) for (const n of names) if (executable(join(root, 'programs', n, script))) monitors.add(n);
  const programs = new Map<string, [string, string][]>();
  for (const [n, file] of scripts) programs.set(n, scriptOptions(file));
  const wrapperOptions = ['run-test', 'run-daemon'].flatMap((w) => scriptOptions(join(root, 'bin', w)));
  const tree = { root, programs, monitors, wrapperOptions };
  cache.set(root, tree);
  return tree;
}
