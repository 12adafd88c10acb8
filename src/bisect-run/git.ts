// The few git commands the local bisect needs, always through execFile with
// an argument array (no shell), refs checked so they cannot pose as options.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { UserError } from '../errors.ts';

const run = promisify(execFile);

export async function git(repo: string, args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-C', repo, ...args], { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' });
  return stdout;
}

/** A ref, tag or sha → the full sha of its commit. */
export async function resolveCommit(repo: string, ref: string): Promise<string> {
  if (ref === '' || ref.startsWith('-')) throw new UserError('bad_ref', `not a revision: ${JSON.stringify(ref)}`);
  try {
    return (await git(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`])).trim();
  } catch {
    throw new UserError('bad_ref', `unknown revision ${JSON.stringify(ref)} in ${repo}`);
  }
}

/** Fails with a UserError unless `repo` is inside a git work tree or is a git directory. */
export async function checkRepo(repo: string): Promise<void> {
  try {
    await git(repo, ['rev-parse', '--git-dir']);
  } catch {
    throw new UserError('bad_repo', `${repo} is not a git repository`);
  }
}

/** `git rev-list --parents BAD ^GOOD…`: the candidates, newest first. */
export async function revList(repo: string, bad: string, good: string[], firstParent: boolean): Promise<string> {
  return git(repo, ['rev-list', '--parents', ...(firstParent ? ['--first-parent'] : []), bad, ...good.map((g) => `^${g}`), '--']);
}

/** Subject lines for a report. */
export async function subjects(repo: string, shas: string[]): Promise<Map<string, string>> {
  if (shas.length === 0) return new Map();
  const out = await git(repo, ['show', '-s', '--no-walk=unsorted', '--format=%H %s', ...shas, '--']);
  const map = new Map<string, string>();
  for (const line of out.split('\n')) {
    const space = line.indexOf(' ');
    if (space > 0) map.set(line.slice(0, space), line.slice(space + 1));
  }
  return map;
}
