// The git resolver against real repositories made here: refs of every kind
// resolve to full shas through a bare mirror, a moved branch or a new commit
// is picked up, an unknown ref fails naming itself, and nothing option-like
// reaches git.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitResolver, mirrorName } from '../../../src/stack/git.ts';
import { UserError } from '../../../src/errors.ts';
import { makeRepo } from '../../support/git.ts';
import { tempDir } from '../../support/tmp.ts';

const t = tempDir();
after(() => t.cleanup());
const repo = join(t.dir, 'up');
const shas = makeRepo(repo, [
  { message: 'one', files: { a: '1' }, tag: 'v1' },
  { message: 'two', files: { a: '2' } },
  { message: 'three', files: { a: '3' }, tag: 'v3' },
]);
const commit = (msg: string) => {
  writeFileSync(join(repo, 'a'), msg);
  const env = { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@example.org', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.org' };
  execFileSync('git', ['commit', '-qam', msg], { cwd: repo, env });
  return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
};

test('tags, branches, short and full shas, ~ and ^ resolve to full shas through one bare mirror', async () => {
  const r = new GitResolver(join(t.dir, 'mirrors-a'));
  assert.equal(await r.resolve(repo, 'v1'), shas[0]);
  assert.equal(await r.resolve(repo, 'master'), shas[2]);
  assert.equal(await r.resolve(repo), shas[2], 'HEAD by default');
  assert.equal(await r.resolve(repo, shas[1]!.slice(0, 7)), shas[1]);
  assert.equal(await r.resolve(repo, shas[1]), shas[1]);
  assert.equal(await r.resolve(repo, 'v3~1'), shas[1]);
  assert.equal(await r.resolve(repo, 'v3^'), shas[1]);
  assert.ok(existsSync(join(t.dir, 'mirrors-a', mirrorName(repo), 'HEAD')), 'a bare mirror under the data directory');
});

test('an unknown ref fails with an error naming the ref and the upstream', async () => {
  const r = new GitResolver(join(t.dir, 'mirrors-b'));
  await assert.rejects(r.resolve(repo, 'v9'), (err: unknown) => err instanceof UserError && err.code === 'unknown_ref' && /v9/.test(err.message) && err.message.includes(repo));
  await assert.rejects(r.resolve(repo, 'f'.repeat(40)), /is not a commit/);
});

test('a commit made upstream after the mirror was cloned is fetched when asked for; a moved branch after the fetch interval', async () => {
  const r = new GitResolver(join(t.dir, 'mirrors-c'), { fetchInterval: 0 });
  assert.equal(await r.resolve(repo, 'master'), shas[2]);
  const fourth = commit('four');
  assert.equal(await r.resolve(repo, fourth), fourth, 'an unknown sha makes it fetch');
  assert.equal(await r.resolve(repo, 'master'), fourth, 'the branch moved');
  const slow = new GitResolver(join(t.dir, 'mirrors-d'), { fetchInterval: 3_600_000 });
  assert.equal(await slow.resolve(repo, 'master'), fourth);
  const fifth = commit('five');
  assert.equal(await slow.resolve(repo, 'master'), fourth, 'within the fetch interval a branch answer is trusted');
  assert.equal(await slow.resolve(repo, fifth.slice(0, 10)), fifth, 'but an unknown sha is always fetched');
});

test('option-like refs and urls, ranges and reflog syntax are refused before git runs', async () => {
  const r = new GitResolver(join(t.dir, 'mirrors-e'));
  for (const ref of ['--upload-pack=touch /tmp/pwned', '-v', 'v1..v3', 'master@{1}', 'a b', 'HEAD:a', '']) {
    await assert.rejects(r.resolve(repo, ref), (err: unknown) => err instanceof UserError && err.code === 'bad_ref', ref);
  }
  for (const url of ['--upload-pack=x', 'ext::sh -c touch% /tmp/pwned', 'fd::3']) {
    await assert.rejects(r.resolve(url, 'v1'), (err: unknown) => err instanceof UserError && err.code === 'bad_url', url);
  }
  assert.ok(!existsSync(join(t.dir, 'mirrors-e')) || !existsSync(join(t.dir, 'mirrors-e', mirrorName('--upload-pack=x'))));
});

test('an upstream that cannot be cloned is a clear error, not a crash', async () => {
  const r = new GitResolver(join(t.dir, 'mirrors-f'));
  await assert.rejects(r.resolve(join(t.dir, 'no-such-repo'), 'v1'), (err: unknown) => err instanceof UserError && err.code === 'upstream_unreachable');
});

test('before the mirror exists, a branch, a tag (annotated ones peeled) or HEAD is answered by ls-remote; the mirror follows in the background', async () => {
  const env = { ...process.env, GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@example.org' };
  execFileSync('git', ['tag', '-a', '-m', 'annotated', 'v1-annotated', shas[0]!], { cwd: repo, env });
  const dir = join(t.dir, 'mirrors-lsremote');
  const r = new GitResolver(dir);
  const mirror = join(dir, mirrorName(repo), 'HEAD');
  assert.equal(await r.resolve(repo, 'v1-annotated'), shas[0], 'the commit, not the tag object');
  assert.equal(existsSync(mirror), false, 'answered without a clone');
  assert.equal(await r.resolve(repo, 'v3'), shas[2]);
  await assert.rejects(r.resolve(repo, 'no-such-branch'), /no-such-branch is not a branch, tag or HEAD/);
  await r.settle();
  assert.ok(existsSync(mirror), 'the mirror was cloned in the background');
  assert.equal(await r.resolve(repo, 'v3~1'), shas[1], 'expressions use the mirror');
});

test('a URL the lab rewrites is fetched from the rewrite, and its mirror is named by the URL as written', async () => {
  const written = 'https://git.example.org/up.git';
  const dir = join(t.dir, 'mirrors-rewrite');
  const r = new GitResolver(dir, { fetchUrl: (u) => (u === written ? repo : u) });
  assert.equal(await r.resolve(written, 'v3'), shas[2]);
  assert.equal(await r.resolve(written, shas[0]!.slice(0, 8)), shas[0]);
  assert.ok(existsSync(join(dir, mirrorName(written), 'HEAD')));
  await r.settle();
});
