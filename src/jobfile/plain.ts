// A located job as the plain JSON stacklab submits, stores and shows:
// scalars as lkp's Ruby read them (psych.ts did that at load), except the
// strings stacklab keeps exactly as written: names and versions, commits
// (a sha of digits is not a number), and everything under ss.
import { STRING_FIELDS } from './fields.ts';
import type { LMap, LNode } from './located.ts';

const COMMITISH = /(^|_)commit$/;

/** A scalar's string as written, for places that hold strings (commits, versions). */
export function asString(n: LNode): string | undefined {
  if (n.kind !== 'scalar' || n.value === null) return undefined;
  if (typeof n.value === 'string') return n.text ?? n.value;
  return n.text ?? undefined; // a plain YAML scalar: its exact text; a JSON number is not a string
}

/** Sets an own property even for names like __proto__ (never the prototype). */
export function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

export function plainOf(n: LNode, asText: boolean): unknown {
  if (n.kind === 'scalar') {
    if (!asText) return n.value;
    return n.value === null ? null : (asString(n) ?? n.value);
  }
  if (n.kind === 'seq') return n.items.map((i) => plainOf(i, asText));
  const out: Record<string, unknown> = {};
  for (const [k, e] of n.entries) setOwn(out, k, plainOf(e.value, asText || COMMITISH.test(k)));
  return out;
}

/** The job as plain JSON: string fields, commits and everything under ss as written. */
export function toJson(job: LMap): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, e] of job.entries) setOwn(out, k, plainOf(e.value, STRING_FIELDS.has(k) || k === 'ss' || COMMITISH.test(k)));
  return out;
}
