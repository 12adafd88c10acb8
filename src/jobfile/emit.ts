// Plain JSON written back as a job file, so that reading it again (by
// stacklab or by lkp, both YAML 1.1) gives the same values: a string that
// would read as something else (on, 010, 1,000, 1:30, 2024-01-01) is quoted.
import { readPlain } from './psych.ts';

const SAFE_PLAIN = /^[A-Za-z0-9_./%+@][A-Za-z0-9_./%+@ =,()-]*$/;

function plainString(s: string): boolean {
  if (!SAFE_PLAIN.test(s) || s.endsWith(' ') || /\s#|:\s|^[-?:,[\]{}#&*!|>'"%@`]/.test(s)) return false;
  const r = readPlain(s);
  return r.type === 'string' && r.value === s;
}

export function scalarYaml(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  const s = String(v);
  return plainString(s) ? s : JSON.stringify(s);
}

const keyYaml = (k: string) => (k !== '' && plainString(k) ? k : JSON.stringify(k));

function isMap(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function lines(v: unknown, indent: string, out: string[]): void {
  if (isMap(v)) {
    for (const [k, val] of Object.entries(v)) {
      if ((isMap(val) && Object.keys(val).length > 0) || (Array.isArray(val) && val.length > 0)) {
        out.push(`${indent}${keyYaml(k)}:`);
        lines(val, `${indent}  `, out);
      } else out.push(`${indent}${keyYaml(k)}:${inline(val) === '' ? '' : ` ${inline(val)}`}`);
    }
    return;
  }
  if (Array.isArray(v)) {
    for (const item of v) {
      if ((isMap(item) && Object.keys(item).length > 0) || (Array.isArray(item) && item.length > 0)) {
        const sub: string[] = [];
        lines(item, `${indent}  `, sub);
        out.push(`${indent}- ${sub[0]!.slice(indent.length + 2)}`, ...sub.slice(1));
      } else out.push(`${indent}- ${inline(item) === '' ? '~' : inline(item)}`);
    }
    return;
  }
  out.push(`${indent}${scalarYaml(v)}`);
}

/** A value on one line: scalars, and empty maps and lists in flow form. */
function inline(v: unknown): string {
  if (isMap(v)) return '{}';
  if (Array.isArray(v)) return '[]';
  return scalarYaml(v);
}

/** One job as a YAML document (block style, keys in their order). */
export function jobYaml(job: Record<string, unknown>): string {
  const out: string[] = [];
  lines(job, '', out);
  return out.join('\n') + '\n';
}

/** A value as lkp's include overrides write it after `key: ` (flow style for lists and maps). */
export function flowYaml(v: unknown): string {
  if (isMap(v)) return `{${Object.entries(v).map(([k, x]) => `${keyYaml(k)}: ${flowYaml(x)}`).join(', ')}}`;
  if (Array.isArray(v)) return `[${v.map(flowYaml).join(', ')}]`;
  if (typeof v === 'string' && !/^[A-Za-z0-9_./%+@-]+$/.test(v)) return JSON.stringify(v);
  return scalarYaml(v);
}
