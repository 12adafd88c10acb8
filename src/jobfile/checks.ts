// Checking one expanded job and turning it into plain JSON. Every problem
// becomes an issue at the position of the offending key or value, with a
// message a person can act on; all of them are collected, not just the first.
import { issueAt, type JobFileIssue } from './errors.ts';
import { CONFIG_RE, ENV_RE, FIELDS, LABEL_KEY_RE, MAX_COMMIT, MAX_NAME, NAME_RE, OWNED_FIELDS, PKG_RE, STRING_FIELDS } from './fields.ts';
import type { LMap, LNode, LScalar } from './located.ts';

/** A scalar's string as written, for places that hold strings (commits, versions). */
function asString(n: LNode): string | undefined {
  if (n.kind !== 'scalar' || n.value === null) return undefined;
  if (typeof n.value === 'string') return n.value;
  return n.text ?? undefined; // a plain YAML scalar: its exact text; a JSON number is not a string
}

function describe(n: LNode): string {
  if (n.kind === 'map') return 'a mapping';
  if (n.kind === 'seq') return 'a list';
  if (n.value === null) return 'nothing';
  return typeof n.value === 'string' ? JSON.stringify(n.value) : String(n.text ?? n.value);
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

export function suggest(word: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(word.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

function checkName(n: LNode, path: string, what: string, re: RegExp, issues: JobFileIssue[]): string | undefined {
  const s = asString(n);
  if (s === undefined) {
    issues.push(issueAt(n.pos, path, `expected ${what}, got ${describe(n)}`));
    return undefined;
  }
  if (!re.test(s) || s.length > MAX_NAME) {
    issues.push(issueAt(n.pos, path, `${JSON.stringify(s)} is not ${what} (letters, digits and ${re === PKG_RE ? 'lower-case letters, digits, . _ + -' : '. _ -'}; at most ${MAX_NAME} characters)`));
    return undefined;
  }
  return s;
}

function checkNumber(n: LNode, path: string, issues: JobFileIssue[], o: { integer: boolean; min: number; exclusive?: boolean; max?: number; what: string }): void {
  const v = n.kind === 'scalar' ? n.value : undefined;
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (!o.integer || Number.isInteger(v)) &&
    (o.exclusive ? v > o.min : v >= o.min) &&
    (o.max === undefined || v <= o.max);
  if (!ok) issues.push(issueAt(n.pos, path, `expected ${o.what}, got ${describe(n)}`));
}

function checkScalarMap(m: LNode, path: string, issues: JobFileIssue[], keyRe: RegExp, keyWhat: string, listsAllowed: boolean): void {
  if (m.kind === 'scalar' && m.value === null) return;
  if (m.kind !== 'map') {
    issues.push(issueAt(m.pos, path, `expected a mapping of ${keyWhat} to values, got ${describe(m)}`));
    return;
  }
  for (const [k, { keyPos, value }] of m.entries) {
    const p = `${path}.${k}`;
    if (!keyRe.test(k)) issues.push(issueAt(keyPos, p, `${JSON.stringify(k)} is not ${keyWhat}`));
    if (value.kind === 'map') issues.push(issueAt(value.pos, p, 'expected a scalar value, got a mapping (parameters do not nest)'));
    else if (value.kind === 'seq') {
      if (!listsAllowed) issues.push(issueAt(value.pos, p, 'expected a scalar value, got a list'));
      else for (const item of value.items) if (item.kind !== 'scalar') issues.push(issueAt(item.pos, p, `expected scalar list elements, got ${describe(item)}`));
    }
  }
}

function checkSs(ss: LNode, issues: JobFileIssue[]): void {
  if (ss.kind === 'scalar' && ss.value === null) return;
  if (ss.kind !== 'map') {
    issues.push(issueAt(ss.pos, 'ss', `expected a mapping of packages, got ${describe(ss)}`));
    return;
  }
  for (const [pkg, { keyPos, value }] of ss.entries) {
    const p = `ss.${pkg}`;
    if (!PKG_RE.test(pkg) || pkg.length > MAX_NAME) issues.push(issueAt(keyPos, p, `${JSON.stringify(pkg)} is not a package name (lower-case letters, digits, . _ + -)`));
    if (value.kind === 'scalar' && value.value === null) continue;
    if (value.kind !== 'map') {
      issues.push(issueAt(value.pos, p, `expected the package's build parameters (a mapping), got ${describe(value)}`));
      continue;
    }
    for (const [k, e] of value.entries) {
      const kp = `${p}.${k}`;
      const v = e.value;
      if (v.kind === 'seq') {
        issues.push(issueAt(v.pos, kp, 'ss values do not expand; submit one job per value (or put the list in the suite’s parameters)'));
        continue;
      }
      if (v.kind === 'map' || asString(v) === undefined) {
        issues.push(issueAt(v.pos, kp, `expected a string, got ${describe(v)}`));
        continue;
      }
      const s = asString(v)!;
      if (k === 'fork') checkName(v, kp, 'a fork name', PKG_RE, issues);
      else if (k === 'testbox') checkName(v, kp, 'a testbox group', NAME_RE, issues);
      else if (k === 'commit') {
        if (s === '' || s.length > MAX_COMMIT || /\s/.test(s) || s.startsWith('-')) issues.push(issueAt(v.pos, kp, `${JSON.stringify(s)} is not a commit (a tag, branch or sha: no spaces, not starting with -)`));
      } else if (k === 'config') {
        if (!CONFIG_RE.test(s)) issues.push(issueAt(v.pos, kp, `${JSON.stringify(s)} is not a config name: a relative file name under the lab's configs/${pkg}/, without '..'`));
      } else if (k.startsWith('_')) {
        // Registry overrides (_upstream_url…) are checked against the registry at submit.
      } else if (!ENV_RE.test(k)) issues.push(issueAt(e.keyPos, kp, `${JSON.stringify(k)} is not a build parameter name (letters, digits, _; it becomes an environment variable)`));
    }
  }
}

/** Checks one job (after expansion); returns true if it added no issue. */
export function checkJob(job: LNode, issues: JobFileIssue[], listsAllowed = false): boolean {
  const before = issues.length;
  if (job.kind !== 'map') {
    issues.push(issueAt(job.pos, '', `a job is a mapping of fields, got ${describe(job)}`));
    return false;
  }
  const suiteEntry = job.entries.get('suite');
  let suite = suiteEntry ? checkName(suiteEntry.value, 'suite', 'a suite name', NAME_RE, issues) : undefined;
  if (!suiteEntry) issues.push(issueAt(job.pos, 'suite', 'required: the suite to run'));
  if (suite && (FIELDS[suite] || OWNED_FIELDS.has(suite))) {
    // Its parameter map would be that field.
    issues.push(issueAt(suiteEntry!.value.pos, 'suite', `a suite cannot be named like the job field ${suite}`));
    suite = undefined;
  }
  const known = [...Object.keys(FIELDS), ...(suite ? [suite] : [])];
  for (const [key, { keyPos, value }] of job.entries) {
    const def = FIELDS[key];
    if (OWNED_FIELDS.has(key)) issues.push(issueAt(keyPos, key, 'set by the scheduler; a job cannot submit it'));
    else if (key === suite) checkScalarMap(value, key, issues, ENV_RE, 'an environment variable name', listsAllowed);
    else if (!def) {
      const hint = suggest(key, known);
      issues.push(issueAt(keyPos, key, `unknown field${hint ? `; did you mean ${hint}?` : ''}`));
    } else if (key === 'suite') continue;
    else if (def.kind === 'name') checkName(value, key, key === 'testbox' ? 'a testbox group' : `a name`, NAME_RE, issues);
    else if (def.kind === 'gib') checkNumber(value, key, issues, { integer: false, min: 0, exclusive: true, what: 'a number of GiB > 0' });
    else if (def.kind === 'seconds') checkNumber(value, key, issues, { integer: true, min: 1, what: 'a whole number of seconds ≥ 1' });
    else if (def.kind === 'priority') checkNumber(value, key, issues, { integer: true, min: -1000, max: 1000, what: 'a whole number from -1000 to 1000' });
    else if (def.kind === 'labels') checkScalarMap(value, key, issues, LABEL_KEY_RE, 'a label name', false);
    else if (def.kind === 'ss') checkSs(value, issues);
  }
  return issues.length === before;
}

/** A number stays a number only if it reads back as written: 20.10, 1e3 and 0x10 stay strings. */
function looseScalar(n: LScalar): unknown {
  if (typeof n.value === 'number' && n.text !== null && String(n.value) !== n.text) return n.text;
  return n.value;
}

function plain(n: LNode, strings: boolean): unknown {
  if (n.kind === 'scalar') return strings ? (asString(n) ?? n.value) : looseScalar(n);
  if (n.kind === 'seq') return n.items.map((i) => plain(i, strings));
  const out: Record<string, unknown> = {};
  for (const [k, e] of n.entries) out[k] = plain(e.value, strings);
  return out;
}

/** The checked job as plain JSON: string fields and everything under ss as written. */
export function toJson(job: LMap): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, e] of job.entries) out[k] = plain(e.value, STRING_FIELDS.has(k) || k === 'ss');
  return out;
}
