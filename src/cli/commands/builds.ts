// `stacklab builds [KEY]`: the build cache, or one build in full.
import type { Command } from 'commander';
import type { Build } from '../../api/contract.ts';
import { clientFor, out, printJson, since, table, withJson, withServer, type GlobalOptions } from '../common.ts';
import { integer, matching, oneOf } from '../options.ts';
import { keyValues } from '../follow.ts';
import { BUILD_STATES } from '../../api/contract.ts';

/** A build's parameters as key=value words: two builds differing only in one tell apart. */
export const buildParams = (b: Pick<Build, 'params'>): string => keyValues(b.params).join(' ');

function showBuild(b: Build): void {
  out(`build ${b.key}`);
  out(`  package    ${b.pkg} (fork ${b.fork}) from ${b.upstream_url}`);
  out(`  commit     ${b.commit}${b.commit_ref !== b.commit ? ` (${b.commit_ref})` : ''}`);
  out(`  config     ${b.config ?? '-'}`);
  out(`  params     ${buildParams(b) || '-'}`);
  out(`  os         ${b.os} ${b.os_version} ${b.os_arch}`);
  out(`  state      ${b.state} (attempt ${b.attempts}, on ${b.testbox})`);
  if (b.error) out(`  error      ${keyValues(b.error).join(' ')}`);
  for (const f of b.files) out(`  file       ${f.url}  ${f.size} bytes  sha256 ${f.sha256}`);
  if (b.pkgbuild_jobs) out(`  pkgbuild   ${b.pkgbuild_jobs.map((j) => `${j.id}:${j.health ?? j.stage}`).join(' ')}`);
  if (b.jobs) out(`  jobs       ${b.jobs.map((j) => `${j.job_id}:${j.wait}`).join(' ') || '-'}`);
}

export function registerBuilds(program: Command): void {
  withJson(withServer(program.command('builds')))
    .description('the build cache (newest first), or one build by its key or a key prefix')
    .argument('[key]', 'a build key or a unique prefix of one (6 to 64 hex digits)', matching(/^[0-9a-f]{6,64}$/, 'a build key or a prefix of one: 6 to 64 hex digits'))
    .option('--pkg <pkg>', 'only builds of this package', matching(/^[a-z0-9][a-z0-9._+-]{0,63}$/, 'a package name (lower-case letters, digits, . _ + -)'))
    .option('--state <state>', `only builds in this state (${BUILD_STATES.join(', ')})`, oneOf(BUILD_STATES))
    .option('--limit <n>', 'at most this many', integer(1, 1000), 50)
    .action(async (key: string | undefined, f: GlobalOptions & { pkg?: string; state?: string; limit: number }) => {
      const client = clientFor(f);
      if (key) {
        const b = await client.get<Build>(`/api/builds/${encodeURIComponent(key)}`);
        return f.json ? printJson(b) : showBuild(b);
      }
      const builds = await client.get<Build[]>('/api/builds', { pkg: f.pkg, state: f.state, limit: f.limit });
      if (f.json) return printJson(builds);
      if (builds.length === 0) return out('no builds');
      out(
        table(
          ['key', 'pkg', 'commit', 'config', 'params', 'os', 'state', 'waiting', 'built in'],
          builds.map((b) => [b.key.slice(0, 12), b.pkg, `${b.commit.slice(0, 12)}${b.commit_ref !== b.commit ? ` (${b.commit_ref})` : ''}`, b.config, buildParams(b) || null, `${b.os}-${b.os_version}-${b.os_arch}`, b.state, b.waiting || null, b.started_at && b.finished_at ? since(b.started_at, b.finished_at) : null]),
        ),
      );
    });
}
