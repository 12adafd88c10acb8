// Checking one expanded job. Any top-level key is an lkp job variable; the
// fields stacklab reads itself (fields.ts) are type-checked, each problem an
// issue at the position of the offending key or value, all of them
// collected. A key one slip away from a field stacklab reads (`runtim`,
// `ss.linux.comit`) is a warning: lkp would take it for a new variable.
import { issueAt, type JobFileIssue } from './errors.ts';
import { MAX_RUNTIME } from './units.ts';
import { CONFIG_RE, ENV_RE, FIELDS, fieldDef, LABEL_KEY_RE, MAX_COMMIT, MAX_NAME, NAME_RE, OWNED_FIELDS, PKG_RE, SS_KNOWN } from './fields.ts';
import type { LNode } from './located.ts';
import { asString } from './plain.ts';
import { DURATION_RE, PERCENT_RE, SIZE_RE } from './units.ts';

export interface CheckOptions {
  /** A job without suite is an error (submit); else a warning (split shows what lkp makes). */
  requireSuite?: boolean;
  /** Names an lkp tree knows (programs, options): never a near miss. */
  lkpNames?: Set<string>;
}

function describe(n: LNode): string {
  if (n.kind === 'map') return 'a mapping';
  if (n.kind === 'seq') return 'a list';
  if (n.value === null) return 'nothing';
  return typeof n.value === 'string' ? JSON.stringify(n.value) : String(n.text ?? n.value);
}

/** Edit distance with adjacent transpositions (optimal string alignment). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}

/**
 * The known name `word` is a slip of, if any: at most 2 edits, and at most
 * a third of the name's length, so that lkp's short variables (fs, md, ip)
 * are not taken for os or ss.
 */
export function nearMiss(word: string, known: string[]): string | undefined {
  if (known.includes(word)) return undefined;
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = distance(word.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.min(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** Kept for callers of the old name. */
export const suggest = nearMiss;

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

function checkRuntime(n: LNode, issues: JobFileIssue[]): void {
  if (n.kind === 'scalar' && n.value === null) return; // `runtime:` with nothing: the lab's default
  if (n.kind === 'scalar' && typeof n.value === 'string' && DURATION_RE.test(n.value) && !/^0+[smhdwy]?$/.test(n.value)) return;
  if (n.kind === 'scalar' && typeof n.value === 'number' && Number.isInteger(n.value) && n.value > MAX_RUNTIME) {
    issues.push(issueAt(n.pos, 'runtime', `${n.value} s is more than the ${MAX_RUNTIME} s (ten years) a job may run`));
    return;
  }
  checkNumber(n, 'runtime', issues, { integer: true, min: 1, what: 'a whole number of seconds ≥ 1' });
}

function checkSize(n: LNode, path: string, issues: JobFileIssue[]): void {
  if (n.kind === 'scalar' && (n.value === null || (typeof n.value === 'number' && n.value >= 0))) return;
  const s = n.kind === 'scalar' && typeof n.value === 'string' ? n.value : undefined;
  if (s !== undefined && (SIZE_RE.test(s) || PERCENT_RE.test(s))) return;
  issues.push(issueAt(n.pos, path, `expected a size such as 8G, 300MB or 50%, got ${describe(n)}`));
}

function checkLabels(m: LNode, issues: JobFileIssue[]): void {
  if (m.kind === 'scalar' && m.value === null) return;
  if (m.kind !== 'map') {
    issues.push(issueAt(m.pos, 'labels', `expected a mapping of label names to values, got ${describe(m)}`));
    return;
  }
  for (const [k, { keyPos, value }] of m.entries) {
    const p = `labels.${k}`;
    if (!LABEL_KEY_RE.test(k)) issues.push(issueAt(keyPos, p, `${JSON.stringify(k)} is not a label name`));
    if (value.kind === 'map') issues.push(issueAt(value.pos, p, 'expected a scalar value, got a mapping (labels do not nest)'));
    else if (value.kind === 'seq') issues.push(issueAt(value.pos, p, 'expected a scalar value, got a list'));
  }
}

function checkSs(ss: LNode, issues: JobFileIssue[], warnings: JobFileIssue[]): void {
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
      // compass-ci uploads every config* key; those are not slips of config.
      const near = k.startsWith('config') ? undefined : nearMiss(k, SS_KNOWN);
      if (near) warnings.push(issueAt(e.keyPos, kp, `not a key stacklab reads in an ss entry, so a build parameter; did you mean ${near}?`));
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
        // A name under the lab's configs/<pkg>/, or a path on the submitting machine (the client uploads that file).
        const path = s.includes('/') && (s.startsWith('/') || s.startsWith('.'));
        if ((!path && !CONFIG_RE.test(s)) || s.length > 4096 || s.includes('\0')) {
          issues.push(issueAt(v.pos, kp, `${JSON.stringify(s)} is not a config: a name under the lab's configs/${pkg}/ (relative, without '..'), or a path to a file on this machine`));
        }
      } else if (k.startsWith('_')) {
        // Registry overrides (_upstream_url…) are checked against the registry at submit.
      } else if (!ENV_RE.test(k)) issues.push(issueAt(e.keyPos, kp, `${JSON.stringify(k)} is not a build parameter name (letters, digits, _; it becomes an environment variable)`));
    }
  }
}

/** `__proto__` as a key could reach an object's prototype in code that copies jobs: never a job key. */
function checkProto(n: LNode, path: string, issues: JobFileIssue[]): void {
  if (n.kind === 'seq') n.items.forEach((i, x) => checkProto(i, `${path}.${x}`, issues));
  if (n.kind !== 'map') return;
  for (const [k, e] of n.entries) {
    const p = path ? `${path}.${k}` : k;
    if (k === '__proto__') issues.push(issueAt(e.keyPos, p, '__proto__ is not allowed as a key'));
    else checkProto(e.value, p, issues);
  }
}

const KNOWN_TOP = Object.keys(FIELDS);

/** Checks one job (after expansion); returns true if it added no issue. Warnings go to `warnings`. */
export function checkJob(job: LNode, issues: JobFileIssue[], warnings: JobFileIssue[] = [], opts: CheckOptions = {}): boolean {
  const before = issues.length;
  if (job.kind !== 'map') {
    issues.push(issueAt(job.pos, '', `a job is a mapping of fields, got ${describe(job)}`));
    return false;
  }
  checkProto(job, '', issues);
  const suiteEntry = job.entries.get('suite');
  let suite = suiteEntry ? checkName(suiteEntry.value, 'suite', 'a suite name', NAME_RE, issues) : undefined;
  if (!suiteEntry) {
    const tc = job.entries.get('testcase');
    const hint = tc ? `; lkp's testcase does not name one: add suite: ${asString(tc.value) ?? '…'}` : '';
    (opts.requireSuite === false ? warnings : issues).push(issueAt(job.pos, 'suite', `required: the suite to run${hint}`));
  }
  if (suite && (fieldDef(suite) || OWNED_FIELDS.has(suite))) {
    // Its parameter map would be that field.
    issues.push(issueAt(suiteEntry!.value.pos, 'suite', `a suite cannot be named like the job field ${suite}`));
    suite = undefined;
  }
  for (const [key, { keyPos, value }] of job.entries) {
    const def = fieldDef(key);
    if (OWNED_FIELDS.has(key)) issues.push(issueAt(keyPos, key, 'set by the scheduler; a job cannot submit it'));
    else if (!def) {
      const near = key === suite || opts.lkpNames?.has(key) ? undefined : nearMiss(key, KNOWN_TOP);
      if (near) warnings.push(issueAt(keyPos, key, `unknown field; did you mean ${near}?`));
    } else if (key === 'suite') continue;
    else if (def.kind === 'name') checkName(value, key, key === 'testbox' ? 'a testbox group' : `a name`, NAME_RE, issues);
    else if (def.kind === 'gib') checkNumber(value, key, issues, { integer: false, min: 0, exclusive: true, what: 'a number of GiB > 0' });
    else if (def.kind === 'seconds') checkRuntime(value, issues);
    else if (def.kind === 'size') checkSize(value, key, issues);
    else if (def.kind === 'priority') checkNumber(value, key, issues, { integer: true, min: -1000, max: 1000, what: 'a whole number from -1000 to 1000' });
    else if (def.kind === 'labels') checkLabels(value, issues);
    else if (def.kind === 'ss') checkSs(value, issues, warnings);
  }
  return issues.length === before;
}
