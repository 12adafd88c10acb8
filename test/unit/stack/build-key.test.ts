// The build key (SPEC §4.3): every input that can change a build's output
// changes the key; how a job spells the same build (key order, a tag or a
// short sha for the same commit, another name for the same config content)
// does not. The second half resolves real ss entries against a lab and a git
// upstream made here, as a submit does.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildKey, canonicalJson, type BuildInputs } from '../../../src/stack/build-key.ts';
import { resolvePackage, type StackContext, type StackIssue } from '../../../src/stack/resolve.ts';
import { GitResolver } from '../../../src/stack/git.ts';
import { Lab } from '../../../src/lab.ts';
import { HELLO_RECIPE, makeSsLab } from '../../support/ss-lab.ts';
import { tempDir } from '../../support/tmp.ts';

const BASE: BuildInputs = {
  pkg: 'hello',
  fork: 'hello',
  upstream_url: 'https://example.org/hello.git',
  commit: '0123456789abcdef0123456789abcdef01234567',
  config_sha256: 'c'.repeat(64),
  os: 'debian',
  os_version: '12',
  os_arch: 'x86_64',
  recipe_sha256: 'r'.repeat(64),
  params: { cflags: '-O2', pkg_ver: 'v1' },
  salt: '',
};

describe('build key: the pure function', () => {
  const changes: [string, Partial<BuildInputs>][] = [
    ['pkg', { pkg: 'hello2' }],
    ['fork', { fork: 'hello-next' }],
    ['upstream_url', { upstream_url: 'https://example.org/other/hello.git' }],
    ['commit', { commit: '1123456789abcdef0123456789abcdef01234567' }],
    ['config content', { config_sha256: 'd'.repeat(64) }],
    ['no config', { config_sha256: null }],
    ['os', { os: 'openeuler' }],
    ['os_version', { os_version: '13' }],
    ['os_arch', { os_arch: 'aarch64' }],
    ['recipe', { recipe_sha256: 's'.repeat(64) }],
    ['a parameter value', { params: { cflags: '-O3', pkg_ver: 'v1' } }],
    ['a parameter added', { params: { cflags: '-O2', pkg_ver: 'v1', lto: '1' } }],
    ['a parameter removed', { params: { cflags: '-O2' } }],
    ['a parameter renamed', { params: { cflag: '-O2', pkg_ver: 'v1' } }],
    ['salt', { salt: 'rebuild-2026' }],
  ];
  const base = buildKey(BASE);

  test('is a sha256 in hex', () => assert.match(base, /^[0-9a-f]{64}$/));

  test('is stable across releases: a key stored by an earlier version still names the same build', () => {
    assert.equal(base, 'af8626ee0061c48d042e3a17d1c61e41b4ca08a7b17f00e3b1d1dcb94a3f184f');
  });

  for (const [what, change] of changes) {
    test(`changes with ${what}`, () => assert.notEqual(buildKey({ ...BASE, ...change }), base));
  }

  test('every input is covered: changing any field of BuildInputs changes the key', () => {
    const covered = new Set(changes.flatMap(([, c]) => Object.keys(c)));
    assert.deepEqual([...covered].sort(), Object.keys(BASE).sort());
  });

  test('does not change with the order of keys or a sha in capitals', () => {
    const reordered = Object.fromEntries(Object.entries(BASE).reverse()) as unknown as BuildInputs;
    assert.equal(buildKey({ ...reordered, params: { pkg_ver: 'v1', cflags: '-O2' } }), base);
    assert.equal(buildKey({ ...BASE, commit: BASE.commit.toUpperCase() }), base);
  });

  test('a parameter cannot pose as another input (values are nested, not concatenated)', () => {
    assert.notEqual(buildKey({ ...BASE, params: { ...BASE.params, salt: 'x' } }), buildKey({ ...BASE, salt: 'x' }));
    assert.notEqual(buildKey({ ...BASE, params: { a: 'b,c' } }), buildKey({ ...BASE, params: { a: 'b', c: '' } }));
  });

  test('canonical JSON: sorted keys at every level, no whitespace, undefined left out', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { f: null, e: 'x' }], c: undefined } }), '{"a":{"d":[2,{"e":"x","f":null}]},"b":1}');
  });
});

describe('build key: resolved from ss entries', () => {
  const t = tempDir();
  after(() => t.cleanup());
  const ss = makeSsLab(t.dir);
  const sc: StackContext = { lab: new Lab(ss.lab), git: new GitResolver(join(t.dir, 'mirrors'), { fetchInterval: 0 }), snapshots: join(t.dir, 'snapshots') };
  const os = { os: 'debian', os_version: '12', os_arch: 'x86_64' };
  const key = async (entry: Record<string, string>, job = os) => {
    const issues: StackIssue[] = [];
    const spec = await resolvePackage(sc, job, 'hello', entry, issues);
    assert.deepEqual(issues, []);
    return spec!.key;
  };

  test('a tag, a short sha and the full sha of one commit give one key', async () => {
    const full = await key({ commit: ss.hello.good, config: 'loud' });
    assert.equal(await key({ commit: 'v2', config: 'loud' }), full);
    assert.equal(await key({ commit: ss.hello.good.slice(0, 8), config: 'loud' }), full);
    assert.equal(await key({ commit: 'v4~2', config: 'loud' }), full, 'v4~2 is v2 in this history');
  });

  test('another commit, config, parameter or os gives another key', async () => {
    const k = await key({ commit: 'v2', config: 'loud' });
    const others = [
      await key({ commit: 'v1', config: 'loud' }),
      await key({ commit: 'v2', config: 'quiet' }),
      await key({ commit: 'v2' }),
      await key({ commit: 'v2', config: 'loud', cflags: '-O2' }),
      await key({ commit: 'v2', config: 'loud' }, { ...os, os_arch: 'aarch64' }),
    ];
    assert.equal(new Set([k, ...others]).size, others.length + 1);
  });

  test('the config counts by content: a copy under another name is the same build, an edit is not', async () => {
    const loud = await key({ commit: 'v2', config: 'loud' });
    writeFileSync(join(ss.lab, 'configs', 'hello', 'loud-copy'), 'GREETING=LOUD HELLO\n');
    assert.equal(await key({ commit: 'v2', config: 'loud-copy' }), loud);
    writeFileSync(join(ss.lab, 'configs', 'hello', 'loud-copy'), 'GREETING=LOUDER HELLO\n');
    assert.notEqual(await key({ commit: 'v2', config: 'loud-copy' }), loud);
  });

  test('an edit of the recipe, or of a file beside it, or its exec bit, gives another key', async () => {
    const recipe = join(ss.lab, 'recipes', 'hello', 'PKGBUILD');
    const keys = [await key({ commit: 'v2' })];
    // The recipe digest is trusted for a second between submits; wait it out after each edit.
    const settle = () => new Promise((r) => setTimeout(r, 1100));
    writeFileSync(recipe, `# a comment\n${HELLO_RECIPE}`);
    await settle();
    keys.push(await key({ commit: 'v2' }));
    writeFileSync(join(ss.lab, 'recipes', 'hello', 'fix.patch'), '--- a\n+++ b\n');
    await settle();
    keys.push(await key({ commit: 'v2' }));
    chmodSync(join(ss.lab, 'recipes', 'hello', 'fix.patch'), 0o755);
    await settle();
    keys.push(await key({ commit: 'v2' }));
    assert.equal(new Set(keys).size, 4, keys.join('\n'));
  });

  test('the lab salt changes every key', async () => {
    const before = await key({ commit: 'v2' });
    writeFileSync(join(ss.lab, 'lab.yaml'), 'build_salt: toolchain-2\nallow_local_upstreams: true\n');
    const salted: StackContext = { ...sc, lab: new Lab(ss.lab) };
    const issues: StackIssue[] = [];
    const spec = await resolvePackage(salted, os, 'hello', { commit: 'v2' }, issues);
    assert.deepEqual(issues, []);
    assert.notEqual(spec!.key, before);
  });
});
