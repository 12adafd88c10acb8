// The compass-ci ss job on the submit route: configs uploaded with the job
// (upload_fields) count by content, a dry run shows what a submit would make
// and makes nothing, `_pkgbuild_source` takes the recipe from a git
// repository, `_upstream_dir` picks a registry, the lab's url_rewrites move
// fetches (not identities), and an ss entry's os fields are the build's OS.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Type } from 'typebox';
import { Build, DryRun } from '../../src/api/contract.ts';
import { list } from '../../src/artifacts/cgz.ts';
import { makeRepo } from '../support/git.ts';
import { body, BUILD_BOX, refusal, testApp, type TestApp } from './app.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const CONFIG = 'CONFIG_UPLOADED=y\n';

describe('submit: the compass-ci ss job', () => {
  let a: TestApp;
  let recipeRepo: string;
  before(async () => {
    a = await testApp((dir) => {
      recipeRepo = join(dir, 'upstream', 'pkgbuild-linux.git');
      makeRepo(recipeRepo, [
        { message: 'linux recipe', files: { PKGBUILD: 'pkgname=linux\npkgver=1\nbuild() { :; }\npackage() { mkdir -p "$pkgdir/boot"; cp "$config" "$pkgdir/boot/vmlinuz"; }\n' }, tag: 'r1' },
        { message: 'linux recipe 2', files: { PKGBUILD: 'pkgname=linux\npkgver=2\nbuild() { :; }\npackage() { mkdir -p "$pkgdir/boot"; cp "$config" "$pkgdir/boot/vmlinuz"; }\n' } },
      ]);
      mkdirSync(join(dir, 'lab', 'upstreams-openeuler', 'hello'), { recursive: true });
      writeFileSync(join(dir, 'lab', 'upstreams-openeuler', 'hello', 'hello.yaml'), `url: ${join(dir, 'upstream', 'hello')}\n`);
      return {
        url_rewrites: { 'https://mirrors.example.org/git/': `${join(dir, 'upstream')}/`, 'https://git.archlinux.org/': `${join(dir, 'upstream')}/pkgbuild-` },
        upstream_dirs: { openeuler: 'upstreams-openeuler' },
      };
    });
  });
  after(() => a.close());

  const post = (payload: unknown, query = '') => a.inject({ method: 'POST', url: `/api/jobs${query}`, payload: payload as object });
  const seedLike = (extra: Record<string, string> = {}) => ({
    suite: 'boot-test',
    testbox: 'vm-2p8g',
    os: 'openeuler',
    os_version: '22.03-lts-sp4',
    os_arch: 'aarch64',
    ss: {
      linux: {
        fork: 'linux',
        commit: 'v5.10',
        config: '/srv/cci/build-config/linux/openeuler_defconfig_arm64',
        _upstream_url: 'https://mirrors.example.org/git/linux',
        _upstream_dir: 'upstream',
        _pkgbuild_source: 'https://git.archlinux.org/linux.git',
        pkg_ver: 'v1',
        testbox: 'dc-32g',
        ...extra,
      },
    },
    upload_fields: { 'ss.linux.config': { file_name: 'openeuler_defconfig_arm64', sha256: sha256(CONFIG), content: CONFIG } },
  });

  test('a dry run resolves everything, says a build would be made, and submits nothing', async () => {
    const dry = body<DryRun>(await post(seedLike(), '?dry_run=true'), 200, DryRun);
    assert.equal(dry.length, 1);
    const [b] = dry[0]!.builds;
    assert.equal(b!.pkg, 'linux');
    assert.equal(b!.would, 'build');
    assert.equal(b!.upstream_url, 'https://mirrors.example.org/git/linux', 'the URL as written is the identity');
    assert.equal(b!.commit, a.ss.linux.shas[0]);
    assert.equal(b!.config, 'openeuler_defconfig_arm64');
    assert.equal(b!.config_sha256, sha256(CONFIG), 'the uploaded content counts');
    assert.deepEqual(b!.params, { pkg_ver: 'v1' });
    assert.equal(b!.testbox, 'dc-32g');
    assert.match(b!.recipe, /^https:\/\/git\.archlinux\.org\/linux\.git#[0-9a-f]{40}$/);
    assert.equal((dry[0]!.job.upload_fields as Record<string, { content?: string }>)['ss.linux.config']!.content, undefined, 'content is not kept in the job');
    assert.equal(body<unknown[]>(await a.inject({ url: '/api/jobs' }), 200).length, 0);
    assert.equal(body<unknown[]>(await a.inject({ url: '/api/builds' }), 200).length, 0);
  });

  test('another config content, recipe ref or build os is another build; the same content again is the same one, sent or not', async () => {
    const key = async (job: unknown) => body<DryRun>(await post(job, '?dry_run=true'), 200)[0]!.builds[0]!.build_key;
    const k = await key(seedLike());
    const other = seedLike();
    other.upload_fields['ss.linux.config'] = { file_name: 'openeuler_defconfig_arm64', sha256: sha256('CONFIG_OTHER=y\n'), content: 'CONFIG_OTHER=y\n' };
    assert.notEqual(await key(other), k);
    assert.notEqual(await key(seedLike({ _pkgbuild_source: 'https://git.archlinux.org/linux.git#r1' })), k);
    assert.notEqual(await key(seedLike({ os_version: '24.03' })), k);
    const again = seedLike();
    delete (again.upload_fields['ss.linux.config'] as { content?: string }).content;
    assert.equal(await key(again), k, 'a content the server holds need not be sent again');
  });

  test('a submit makes the build on the ss testbox with the uploaded config in its job.cgz and the recipe from the source', async () => {
    const [r] = body<{ job_id: number }[]>(await post(seedLike()), 200);
    const [build] = body<Build[]>(await a.inject({ url: '/api/builds' }), 200, Type.Array(Build));
    assert.equal(build!.os_version, '22.03-lts-sp4');
    assert.equal(build!.testbox, 'dc-32g');
    const cgz = await a.inject({ url: `/job_initrd_tmpfs/${build!.pkgbuild_job}/job.cgz` });
    const file = join(a.dir, 'build.cgz');
    writeFileSync(file, cgz.rawPayload);
    const names = (await list(file)).map((e) => e.name);
    assert.ok(names.includes('config') && names.includes('recipe/PKGBUILD'), names.join(' '));
    const job = body<{ upload_fields: unknown }>(await a.inject({ url: `/api/jobs/${r!.job_id}` }), 200);
    assert.deepEqual(job.upload_fields, { 'ss.linux.config': { file_name: 'openeuler_defconfig_arm64', sha256: sha256(CONFIG) } });
    void BUILD_BOX;
  });

  test('an upload that does not match its digest, an unknown upstream dir, or a path never uploaded is refused with the field', async () => {
    const bad = seedLike();
    bad.upload_fields['ss.linux.config'].sha256 = sha256('something else');
    type Issues = { issues: { path: string; message: string }[] };
    let issues = (refusal(await post(bad), 400, 'invalid_job').details as Issues).issues;
    assert.equal(issues[0]!.path, 'upload_fields.ss.linux.config');
    issues = (refusal(await post({ suite: 'use-hello', ss: { hello: { _upstream_dir: 'nowhere' } } }), 400, 'invalid_job').details as Issues).issues;
    assert.equal(issues[0]!.path, 'ss.hello._upstream_dir');
    assert.match(issues[0]!.message, /no upstream dir "nowhere"/);
    const fromOpenEuler = body<DryRun>(await post({ suite: 'use-hello', ss: { hello: { _upstream_dir: 'openeuler', commit: 'v1' } } }, '?dry_run=true'), 200);
    assert.equal(fromOpenEuler[0]!.builds[0]!.commit, a.ss.hello.shas[0]);
    const { upload_fields: _u, ...noUpload } = seedLike();
    issues = (refusal(await post(noUpload), 400, 'invalid_job').details as Issues).issues;
    assert.equal(issues[0]!.path, 'ss.linux.config');
    assert.match(issues[0]!.message, /was not uploaded/);
  });
});
