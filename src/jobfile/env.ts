// How a job's variables reach its suite: the environment (and arguments)
// `suites/<suite>/run` gets, as lkp's job.sh gives a test program its
// variables (lib/job2sh.rb), plus what a stacklab suite needs because it
// stands for the whole lkp job rather than one of its programs. SPEC §2
// documents the mapping; in short, later rules win:
//   1. every top-level key that is a shell name and whose value is not a
//      mapping is exported (export_top_env): lists join with newlines, nil
//      is empty, numbers and booleans as Ruby prints them; runtime in seconds;
//   2. every other mapping's scalar entries as <map>_<key>, anything outside
//      [A-Za-z0-9_] made _ (lkp's job_env naming): fio-setup-basic.rw →
//      fio_setup_basic_rw;
//   3. the suite's own mapping as job.sh passes a program its parameters:
//      each key under its own name, a nested mapping flattened one level,
//      characters outside [A-Za-z0-9_] encoded as _<byte>_ (nr-x → nr_45_x);
//      a string instead of a mapping is the program's arguments, split as a
//      shell would.
// Values are passed literally: job.sh would let the shell expand `$var` and
// `$(…)` in them; stacklab runs no job text as shell.
import { rubyFloat } from './psych.ts';
import { runtimeSeconds } from './units.ts';

type Plain = Record<string, unknown>;
const isMap = (v: unknown): v is Plain => v !== null && typeof v === 'object' && !Array.isArray(v);

const SHELL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Names a job never sets: the agent's own, and those that change how every program or shell starts. */
export const RESERVED_ENV = /^(STACKLAB_.*|RESULT_ROOT|LD_.*|BASH_ENV|ENV|BASH_FUNC_.*|PATH|HOME|IFS|SHELLOPTS|BASHOPTS|PS4|CDPATH|GLOBIGNORE|PROMPT_COMMAND|GCONV_PATH|HOSTALIASES|LOCALDOMAIN|RES_OPTIONS|TMPDIR|NODE_OPTIONS|PYTHONPATH|PYTHONSTARTUP|PERL5LIB|PERL5OPT|RUBYOPT|RUBYLIB)$/;
const RESERVED = RESERVED_ENV;

export interface SuiteEnvironment {
  env: Record<string, string>;
  /** Command-line arguments of run (when the suite's key holds a string, as lkp runs `program args`). */
  args: string[];
}

function toS(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : rubyFloat(v);
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** A value as job.sh's shell_escape_expand leaves it once the shell has read it. */
export function shellValue(v: unknown): string {
  return Array.isArray(v) ? v.map(toS).join('\n') : toS(v);
}

/** job.sh's name for a program parameter: characters a shell name cannot hold as _<byte>_. */
export function encodeKeyword(k: string): string {
  return k.replace(/[^a-zA-Z0-9_]/g, (c) => `_${Buffer.from(c)[0]}_`);
}

/** Ruby's Shellwords.shellsplit; an unbalanced quote leaves the text one argument. */
export function shellSplit(s: string): string[] {
  const out: string[] = [];
  let cur: string | null = null;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      if (cur !== null) out.push(cur);
      cur = null;
      i++;
    } else if (c === "'") {
      const j = s.indexOf("'", i + 1);
      if (j < 0) return [s];
      cur = (cur ?? '') + s.slice(i + 1, j);
      i = j + 1;
    } else if (c === '"') {
      let j = i + 1;
      let w = '';
      while (j < s.length && s[j] !== '"') {
        if (s[j] === '\\' && j + 1 < s.length && '$`"\\\n'.includes(s[j + 1]!)) {
          w += s[j + 1] === '\n' ? '' : s[j + 1];
          j += 2;
        } else w += s[j++];
      }
      if (j >= s.length) return [s];
      cur = (cur ?? '') + w;
      i = j + 1;
    } else if (c === '\\' && i + 1 < s.length) {
      cur = (cur ?? '') + (s[i + 1] === '\n' ? '' : s[i + 1]);
      i += 2;
    } else {
      cur = (cur ?? '') + c;
      i++;
    }
  }
  if (cur !== null) out.push(cur);
  return out;
}

const mangle = (s: string) => s.replace(/[^a-zA-Z0-9_]/g, '_');

function put(env: Record<string, string>, k: string, v: unknown): void {
  if (SHELL_NAME.test(k) && !RESERVED.test(k)) env[k] = shellValue(v);
}

/** The environment and arguments a job's suite runs with (before the agent adds its own). */
export function suiteEnvironment(job: Plain): SuiteEnvironment {
  const env: Record<string, string> = Object.create(null) as Record<string, string>;
  const suite = typeof job.suite === 'string' ? job.suite : undefined;
  for (const [k, v] of Object.entries(job)) if (!isMap(v)) put(env, k, v);
  const seconds = runtimeSeconds(job);
  if (seconds !== undefined) env.runtime = String(seconds);
  const prefixed = (m: Plain, name: string) => {
    for (const [k, v] of Object.entries(m)) {
      if (isMap(v)) prefixed(v, k);
      else if (!/^if role\s/.test(name)) put(env, mangle(`${name}_${k}`), v);
    }
  };
  for (const [k, v] of Object.entries(job)) if (isMap(v) && k !== 'ss' && k !== 'labels' && k !== suite) prefixed(v, k);
  let args: string[] = [];
  const own = suite === undefined ? undefined : job[suite];
  if (isMap(own)) {
    for (const [k, v] of Object.entries(own)) {
      if (isMap(v)) for (const [kk, vv] of Object.entries(v)) put(env, encodeKeyword(kk), vv);
      else put(env, encodeKeyword(k), v);
    }
  } else if (typeof own === 'string') args = shellSplit(own);
  else if (typeof own === 'number') args = [toS(own)];
  return { env: { ...env }, args };
}
