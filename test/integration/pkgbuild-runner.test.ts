// The pkgbuild runner on real git repositories, real bash and a real C
// compiler: what it builds, what it blames on the recipe (failed) and what on
// itself (infra), and what it leaves behind.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPkgbuild, type PkgbuildRequest } from '../../src/pkgbuild/runner.ts';
import { list, unpack } from '../../src/artifacts/cgz.ts';
import { mirrorName } from '../../src/stack/git.ts';
import { makeRepo } from '../support/git.ts';
import { tempDir } from '../support/tmp.ts';
import { HELLO_RECIPE, LINUX_RECIPE } from '../support/ss-lab.ts';

const hello = (v: string) => `#include <stdio.h>\n#ifndef GREETING\n#define GREETING "hi"\n#endif\nint main(void) { printf("%s ${v}\\n", GREETING); return 0; }\n`;

describe('pkgbuild runner', () => {
  const t = tempDir();
  let repo: string;
  let shas: string[];
  let n = 0;

  before(() => {
    repo = join(t.dir, 'upstream');
    shas = makeRepo(repo, [
      { message: 'one', files: { 'hello.c': hello('one'), VERSION: '1\n' } },
      { message: 'two', files: { 'hello.c': hello('two'), VERSION: '2\n' } },
      { message: 'broken', files: { 'hello.c': 'int main(void) { return syntax error; }\n' } },
    ]);
  });
  after(() => t.cleanup());

  /** A job directory as job.cgz unpacks it: recipe/ and maybe config. */
  function request(recipe: string, build: Partial<PkgbuildRequest['build']> = {}, config?: string, timeoutMs = 60_000): PkgbuildRequest {
    const jobDir = join(t.dir, `job-${++n}`);
    mkdirSync(join(jobDir, 'recipe'), { recursive: true });
    writeFileSync(join(jobDir, 'recipe', 'PKGBUILD'), recipe);
    if (config !== undefined) writeFileSync(join(jobDir, 'config'), config);
    return {
      jobDir,
      build: { pkg: 'hello', fork: 'hello', upstream_url: repo, commit: shas[1]!, config: config === undefined ? null : 'c', params: {}, build_key: 'k'.repeat(64), ...build },
      gitCacheDir: join(t.dir, 'git'),
      outDir: join(jobDir, 'out'),
      logFile: join(jobDir, 'build.log'),
      timeoutMs,
    };
  }

  test('builds the commit asked for, with its config and parameters; the binary in pkg.cgz runs', async () => {
    const req = request(HELLO_RECIPE, { params: { delay: '0' } }, 'GREETING=howdy\n');
    const o = await runPkgbuild(req);
    assert.equal(o.result, 'success', o.error + '\n' + readFileSync(req.logFile, 'utf8'));
    assert.equal(o.pkgname, 'hello');
    assert.deepEqual(o.makedepends, ['gcc']);
    assert.deepEqual(o.artifacts.map((a) => a.name), ['pkg.cgz']);
    assert.deepEqual((await list(o.artifacts[0]!.file)).map((e) => e.name), ['bin', 'bin/hello']);
    await unpack(o.artifacts[0]!.file, join(t.dir, 'installed'));
    assert.equal(execFileSync(join(t.dir, 'installed', 'bin', 'hello'), { encoding: 'utf8' }), 'howdy two\n');
    const log = readFileSync(req.logFile, 'utf8');
    assert.match(log, new RegExp(`checked out .* at ${shas[1]}`));
    assert.match(log, /artifact pkg\.cgz: \d+ bytes, sha256 [0-9a-f]{64}/);
  });

  test('the worktree is gone afterwards, and a later build reuses the mirror without the upstream', async () => {
    const mirror = join(t.dir, 'git', mirrorName(repo));
    assert.equal(execFileSync('git', ['worktree', 'list'], { cwd: mirror, encoding: 'utf8' }).trim().split('\n').length, 1);
    // The upstream disappears: shas already fetched still build.
    renameSync(repo, `${repo}.away`);
    try {
      const o = await runPkgbuild(request(HELLO_RECIPE, { commit: shas[0]! }));
      assert.equal(o.result, 'success', o.error);
      // A sha it never fetched is the runner's problem, not the recipe's.
      const missing = await runPkgbuild(request(HELLO_RECIPE, { commit: 'f'.repeat(40) }));
      assert.equal(missing.result, 'infra');
      assert.match(missing.error!, /cannot get|is not in/);
    } finally {
      renameSync(`${repo}.away`, repo);
    }
  });

  test('an unreachable upstream is infra', async () => {
    const o = await runPkgbuild(request(HELLO_RECIPE, { upstream_url: join(t.dir, 'no-such-repo') }));
    assert.equal(o.result, 'infra');
  });

  test('a failing build() is failed, and the log holds the compiler’s error', async () => {
    const req = request(HELLO_RECIPE, { commit: shas[2]! });
    const o = await runPkgbuild(req);
    assert.equal(o.result, 'failed');
    assert.match(o.error!, /build\(\) failed/);
    assert.match(readFileSync(req.logFile, 'utf8'), /hello\.c.*error/);
  });

  test('package() that installs nothing is failed', async () => {
    const o = await runPkgbuild(request('pkgname=hello\npkgver=1\nbuild() { :; }\npackage() { :; }\n'));
    assert.equal(o.result, 'failed');
    assert.match(o.error!, /installed nothing/);
  });

  test('a build parameter that would replace a runner variable is refused', async () => {
    for (const name of ['PATH', 'pkgdir', 'bad-name']) {
      const o = await runPkgbuild(request(HELLO_RECIPE, { params: { [name]: 'x' } }));
      assert.equal(o.result, 'failed');
      assert.match(o.error!, /is not allowed/);
    }
  });

  test("a testbox's build settings reach the recipe; a build parameter of the same name wins", async () => {
    const recipe = 'pkgname=hello\npkgver=1\nbuild() { echo "keep=$keep_trees size=$CCACHE_MAXSIZE" > note.txt; }\npackage() { install -Dm644 note.txt "$pkgdir/note.txt"; }\n';
    const note = async (req: PkgbuildRequest): Promise<string> => {
      const o = await runPkgbuild(req);
      assert.equal(o.result, 'success', o.error);
      const dir = join(t.dir, `note-${n}`);
      await unpack(o.artifacts[0]!.file, dir);
      return readFileSync(join(dir, 'note.txt'), 'utf8');
    };
    const buildEnv = { keep_trees: '2', CCACHE_MAXSIZE: '20G' };
    const req = { ...request(recipe), buildEnv };
    assert.equal(await note(req), 'keep=2 size=20G\n');
    assert.match(readFileSync(req.logFile, 'utf8'), /^==> this testbox's build settings \(--build-env, not in the build key\): keep_trees=2 CCACHE_MAXSIZE=20G$/m);
    const own = { ...request(recipe, { params: { keep_trees: '7' } }), buildEnv };
    assert.equal(await note(own), 'keep=7 size=20G\n');
    assert.match(readFileSync(own.logFile, 'utf8'), /build settings \(--build-env, not in the build key\): CCACHE_MAXSIZE=20G$/m);
    const bad = await runPkgbuild({ ...request(recipe), buildEnv: { LD_PRELOAD: '/x.so' } });
    assert.equal(bad.result, 'infra', 'the box is misconfigured, not the recipe');
    assert.match(bad.error!, /LD_PRELOAD is set by the runner or changes how programs start/);
  });

  test('values stay values: a parameter holding shell syntax is never run', async () => {
    const marker = join(t.dir, 'pwned');
    const recipe = 'pkgname=hello\npkgver=1\nbuild() { echo "$note" > note.txt; }\npackage() { install -Dm644 note.txt "$pkgdir/note.txt"; }\n';
    const req = request(recipe, { params: { note: `$(touch ${marker}); \`touch ${marker}\`` } });
    // The recipe writes into $srcdir; give it one.
    const o = await runPkgbuild(req);
    assert.equal(o.result, 'success', o.error);
    assert.throws(() => readFileSync(marker));
  });

  test('a build past its time limit is timeout', async () => {
    const o = await runPkgbuild(request('pkgname=hello\npkgver=1\nbuild() { sleep 30; }\npackage() { :; }\n', {}, undefined, 1000));
    assert.equal(o.result, 'timeout');
  });

  test('linux leaves vmlinuz and a modules.cgz under lib/modules', async () => {
    const o = await runPkgbuild(request(LINUX_RECIPE, { pkg: 'linux' }, 'CONFIG_X=y\n'));
    assert.equal(o.result, 'success', o.error);
    assert.deepEqual(o.artifacts.map((a) => a.name), ['pkg.cgz', 'vmlinuz', 'modules.cgz']);
    assert.match(readFileSync(o.artifacts[1]!.file, 'utf8'), /^kernel 2 config [0-9a-f]{12}/);
    assert.deepEqual((await list(o.artifacts[2]!.file)).map((e) => e.name).at(-1), 'lib/modules/5.10.0/kernel/drivers/demo.ko');
  });

  test('a linux recipe without boot/vmlinuz is failed', async () => {
    const o = await runPkgbuild(request(HELLO_RECIPE, { pkg: 'linux' }));
    assert.equal(o.result, 'failed');
    assert.match(o.error!, /boot\/vmlinuz/);
  });

});
