// The build key (SPEC §4.3): sha256 of the canonical JSON of everything that
// can change a build's output. Canonical = keys sorted at every level, no
// whitespace, so key order and spelling in job files cannot change it, while
// every real input does.
import { createHash } from 'node:crypto';

export interface BuildInputs {
  pkg: string;
  fork: string;
  /** The upstream URL as the registry (or _upstream_url) gives it. */
  upstream_url: string;
  /** Full commit sha, never a ref name. */
  commit: string;
  /** sha256 of the config file's content, or null without a config. */
  config_sha256: string | null;
  os: string;
  os_version: string;
  os_arch: string;
  /** sha256 over the recipe directory (names, modes, contents). */
  recipe_sha256: string;
  /** Every other ss key: build parameters, as strings. */
  params: Record<string, string>;
  /** The lab's build salt: changing it invalidates every cached build. */
  salt: string;
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function buildKey(inputs: BuildInputs): string {
  const { pkg, fork, upstream_url, commit, config_sha256, os, os_version, os_arch, recipe_sha256, params, salt } = inputs;
  // Key format v1: these names are hashed, so they stay as they were when keys were first made.
  const doc = { v: 1, pkg, fork, url: upstream_url, sha: commit.toLowerCase(), config_sha256, os, os_version, os_arch, recipe_sha256, params, salt };
  return createHash('sha256').update(canonicalJson(doc)).digest('hex');
}
