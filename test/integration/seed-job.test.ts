// The seed's example — a compass-ci ss job, as its users write it — taken
// unchanged by `stacklab submit --dry-run`, then submitted with its config
// given as a file on this machine: the CLI uploads it, the build key counts
// its content, and the build job runs with it. linux-next's mirror and
// Arch's recipe repository are stood in for by local repositories the lab's
// url_rewrites point at; the recipe is a stub that "builds" a kernel by
// copying the config.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/tmp.ts';
import { makeRepo } from '../support/git.ts';
import { makeLab } from '../support/lab.ts';
import { runCli, startServer, startTestbox, type Proc } from '../support/procs.ts';
import { waitFor } from '../support/wait.ts';
import { ApiClient } from '../../src/api/client.ts';
import type { Build, DryRun } from '../../src/api/contract.ts';
import { hostArch } from '../../src/config.ts';
import { SEED_JOB as SEED } from '../support/seed.ts';


const STUB_RECIPE = `pkgname=linux
pkgver=5.10
build() {
  cd "$srcdir/$pkgname"
  test -f "$config"
}
package() {
  install -Dm644 "$config" "$pkgdir/boot/vmlinuz"
  install -Dm644 "$srcdir/$pkgname/Makefile" "$pkgdir/lib/modules/5.10.0/modules.order"
}
`;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

describe('the seed job, as compass-ci users write it', () => {
  const t = tempDir();
  let server: Proc & { url: string };
  let box: Proc;
  let api: ApiClient;
  const labConfig = 'CONFIG_ARM64=y\nCONFIG_FROM_THE_LAB=y\n';
  const myConfig = 'CONFIG_ARM64=y\nCONFIG_MINE=y\n';
  let next: string[];

  before(async () => {
    const up = join(t.dir, 'up');
    next = makeRepo(join(up, 'linux-next.git'), [
      { message: 'Linux 5.9', files: { Makefile: 'VERSION = 5\nPATCHLEVEL = 9\n' }, tag: 'v5.9' },
      { message: 'Linux 5.10', files: { Makefile: 'VERSION = 5\nPATCHLEVEL = 10\n' }, tag: 'v5.10' },
    ]);
    makeRepo(join(up, 'pkgbuild', 'linux.git'), [{ message: 'linux: stub recipe', files: { PKGBUILD: STUB_RECIPE } }]);
    const lab = makeLab(join(t.dir, 'lab'), {
      policy: {
        build_testbox: 'dc',
        url_rewrites: { 'https://mirrors.tuna.tsinghua.edu.cn/git/': `${up}/`, 'https://git.archlinux.org/': `${up}/pkgbuild/` },
        cross_builds: { linux: { aarch64: hostArch() } },
      },
      suites: { 'host-info': { run: '#!/bin/sh\nuname -r\n' } },
      files: { 'configs/linux/openeuler_defconfig_arm64': labConfig },
    });
    server = await startServer({ data: join(t.dir, 'data'), lab });
    api = new ApiClient(server.url);
    box = await startTestbox({ server: server.url, hostname: 'build-32g', workdir: join(t.dir, 'box') });
    writeFileSync(join(t.dir, 'seed.yaml'), SEED);
    writeFileSync(join(t.dir, 'openeuler_defconfig_arm64'), myConfig);
  });
  after(async () => {
    await box?.kill();
    await server?.kill();
    t.cleanup();
  });

  const cli = (args: string[]) => runCli(args, { STACKLAB_SERVER: server.url });

  test('submit --dry-run takes the file unchanged: the lab’s config of that name, by content, in the build key', async () => {
    const r = await cli(['submit', '--dry-run', '--json', join(t.dir, 'seed.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const { job, builds } = (JSON.parse(r.stdout) as DryRun)[0]!;
    assert.equal(job.suite, 'host-info');
    assert.equal(job.testbox, 'vm-2p8g');
    const b = builds[0]!;
    assert.equal(b.commit, next[1]);
    assert.equal(b.commit_ref, 'v5.10');
    assert.equal(b.upstream_url, 'https://mirrors.tuna.tsinghua.edu.cn/git/linux-next.git');
    assert.equal(b.config, 'openeuler_defconfig_arm64');
    assert.equal(b.config_sha256, sha256(labConfig));
    assert.equal(b.os_arch, 'aarch64');
    assert.equal(b.testbox, 'dc-32g');
    assert.deepEqual(b.params, { pkg_ver: 'v1' });
    assert.equal(b.would, 'build');
    const text = await cli(['submit', '--dry-run', join(t.dir, 'seed.yaml')]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /# ss\.linux: build [0-9a-f]{12} — [0-9a-f]{12} \(v5\.10\) of https:\/\/mirrors\.tuna/);
    assert.equal((await api.get<unknown[]>('/api/jobs')).length, 0, 'a dry run submits nothing');
  });

  test('with its config a file on this machine, the CLI uploads it and the build runs with exactly that file', async () => {
    const r = await cli(['submit', '--json', join(t.dir, 'seed.yaml'), `ss.linux.config=${join(t.dir, 'openeuler_defconfig_arm64')}`]);
    assert.equal(r.code, 0, r.stderr);
    const build = await waitFor('the build to end', async () => {
      const [b] = await api.get<Build[]>('/api/builds');
      return b && (b.state === 'succeeded' || b.state === 'failed') ? b : undefined;
    }, 60_000);
    assert.equal(build.state, 'succeeded', JSON.stringify(build.error));
    const full = await api.get<Build>(`/api/builds/${build.key}`);
    const vmlinuz = full.files.find((f) => f.name === 'vmlinuz')!;
    assert.equal(vmlinuz.sha256, sha256(myConfig), 'the kernel the stub built is the uploaded config');
    assert.match(vmlinuz.url, /^\/kernel\/aarch64\/openeuler_defconfig_arm64\//);
    const res = await fetch(server.url + vmlinuz.url);
    assert.equal(await res.text(), myConfig);
  });
});
