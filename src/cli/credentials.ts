// Where the CLI finds who it is, as compass-ci users keep it: `my_token`
// (and my_account, my_email) in ~/.config/stacklab/defaults.yaml, or in the
// compass-ci client's ~/.config/compass-ci/defaults/*.yaml. --token and
// $STACKLAB_TOKEN come first.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { envToken } from '../config.ts';

export interface Defaults {
  my_account?: string;
  my_email?: string;
  my_token?: string;
  [key: string]: unknown;
}

/** The defaults files, the later overriding the earlier: compass-ci's first, then stacklab's own. */
export function defaultsFiles(home = homedir()): string[] {
  const files: string[] = [];
  const cci = join(home, '.config', 'compass-ci', 'defaults');
  if (existsSync(cci)) for (const f of readdirSync(cci).sort()) if (/\.ya?ml$/.test(f)) files.push(join(cci, f));
  const own = join(home, '.config', 'stacklab', 'defaults.yaml');
  if (existsSync(own)) files.push(own);
  return files;
}

export function readDefaults(files = defaultsFiles()): Defaults {
  const out: Defaults = {};
  for (const f of files) {
    try {
      const doc = parse(readFileSync(f, 'utf8')) as unknown;
      if (doc && typeof doc === 'object' && !Array.isArray(doc)) Object.assign(out, doc);
    } catch {
      /* a malformed defaults file gives nothing; submit -c reports it */
    }
  }
  return out;
}

/** The token a command sends: --token, then $STACKLAB_TOKEN, then my_token of the defaults files. */
export function tokenFor(flag: string | undefined): string | undefined {
  if (flag) return flag;
  const fromEnv = envToken();
  if (fromEnv) return fromEnv;
  const t = readDefaults().my_token;
  return typeof t === 'string' && t !== '' ? t : undefined;
}
