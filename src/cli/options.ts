// The one parser of option values the commands share: numbers, durations and
// choices are checked when commander reads them, so a bad value is a usage
// error (exit 2, the option named) before anything runs — never a NaN that
// waits for ever or a stack trace.
import { InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { variableProblem } from '../pkgbuild/runner.ts';
import { BUILD_ENV_MAX } from '../api/contract.ts';

/** A whole number within [min, max]. */
export function integer(min = 0, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    const n = /^[+-]?\d+$/.test(value.trim()) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

export const positiveInt = integer(1);

/** A number greater than zero (GiB, seconds). */
export function positiveNumber(value: string): number {
  const n = /^\s*[+]?(\d+(\.\d*)?|\.\d+)\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number greater than 0');
  return n;
}

const UNITS: Record<string, number> = { '': 1, s: 1, m: 60, min: 60, h: 3600, d: 86400 };

/** A probability strictly between ½ and 1: a bisect's confidence. */
export function probability(value: string): number {
  const n = /^\s*(0?\.\d+|1|0)\s*$/.test(value) ? Number(value) : NaN;
  if (!(n > 0.5 && n < 1)) throw new InvalidArgumentError('expected a probability between 0.5 and 1, e.g. 0.95');
  return n;
}

/** A duration in seconds: `90`, `90s`, `5m`, `1.5h`, `2d`. */
export function duration(value: string): number {
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(s|m|min|h|d)?\s*$/.exec(value);
  const n = m ? Number(m[1]) * UNITS[m[2] ?? '']! : NaN;
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a duration such as 30, 30s, 5m or 1h');
  return n;
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(values: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(values as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${values.join(', ')}`);
    return value as T;
  };
}

/** A TCP port; 0 picks a free one. */
export const port = integer(0, 65535);

/** A path, made absolute against the current directory (a daemon must not depend on where it was started). */
export function absolutePath(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError('expected a path');
  return resolve(value);
}

/** A server URL, or why it is not one. Without a scheme it is http (`127.0.0.1:3000` → http://127.0.0.1:3000). */
export function checkServerUrl(value: string): { url: string } | { error: string } {
  const v = value.trim();
  if (v === '') return { error: 'expected a server URL such as http://127.0.0.1:3000' };
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(v) ? v : `http://${v}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    return { error: 'expected a server URL such as http://127.0.0.1:3000 or 127.0.0.1:3000' };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return { error: `expected an http:// or https:// URL, not ${u.protocol}//` };
  if (u.hostname === '') return { error: 'expected a URL with a host, such as http://127.0.0.1:3000' };
  if (u.search !== '' || u.hash !== '' || u.username !== '' || u.password !== '') return { error: 'expected a URL without a query, fragment or user (a token goes in --token)' };
  return { url: u.toString().replace(/\/+$/, '') };
}

/** The --server option's parser. */
export function serverUrl(value: string): string {
  const r = checkServerUrl(value);
  if ('error' in r) throw new InvalidArgumentError(r.error);
  return r.url;
}

/** A word matching a pattern (a testbox name, a MAC, a package): `what` says what was expected. */
export function matching(pattern: string | RegExp, what: string): (value: string) => string {
  const re = typeof pattern === 'string' ? new RegExp(pattern) : pattern;
  return (value) => {
    if (!re.test(value)) throw new InvalidArgumentError(`expected ${what}`);
    return value;
  };
}

/**
 * One `--build-env NAME=VALUE` (repeatable) added to those before: a
 * variable a testbox sets for its builds, named as a build parameter is.
 */
export function buildEnvPair(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected NAME=VALUE, such as keep_trees=2 or CCACHE_MAXSIZE=20G');
  const name = value.slice(0, eq);
  const problem = variableProblem(name);
  if (problem) throw new InvalidArgumentError(`${problem}: a build setting is a variable name the recipe reads, such as keep_trees or CCACHE_MAXSIZE`);
  if (name.length > 128) throw new InvalidArgumentError(`${name.slice(0, 20)}…: a build setting's name is at most 128 characters`);
  if (value.length - eq - 1 > BUILD_ENV_MAX.valueLength) throw new InvalidArgumentError(`${name}: a build setting's value is at most ${BUILD_ENV_MAX.valueLength} characters`);
  if (!(name in previous) && Object.keys(previous).length >= BUILD_ENV_MAX.names) throw new InvalidArgumentError(`at most ${BUILD_ENV_MAX.names} build settings`);
  return { ...previous, [name]: value.slice(eq + 1) };
}

/** The log levels of pino, the servers' and agents' logger. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const logLevel = oneOf(LOG_LEVELS);
