// `stacklab split` and the job-file options of `stacklab submit`, run as a
// user runs them (a child `node bin/stacklab.js`), on job files of our own.
// Nothing here needs a server: split never asks one, --dry-run --local submits
// nothing and asks no server, and bad input is refused before anything is sent.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadJobFile } from '../../../src/jobfile/index.ts';
import { runCli } from '../../support/procs.ts';
import { tempDir } from '../../support/tmp.ts';

async function inDir(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const t = tempDir();
  try {
    for (const [name, text] of Object.entries(files)) {
      mkdirSync(join(t.dir, name, '..'), { recursive: true });
      writeFileSync(join(t.dir, name), text);
    }
    await fn(t.dir);
  } finally {
    t.cleanup();
  }
}

// No $LKP_SRC from the developer's shell, and a HOME of the test's own.
const env = (dir: string) => ({ LKP_SRC: '', HOME: join(dir, 'home'), STACKLAB_SERVER: 'http://127.0.0.1:9' });

const JOB = 'suite: fio-basic\ntestcase: fio-basic\nruntime: 300s\nfs: [xfs, ext4]\nfio-setup-basic:\n  bs: [4k, 1M]\n---\nfs: btrfs\n';

describe('stacklab split', () => {
  test('prints the expanded jobs; --json gives file, name and job; k=v overrides', async () => {
    await inDir({ 'job.yaml': JOB }, async (dir) => {
      const text = await runCli(['split', join(dir, 'job.yaml')], env(dir));
      assert.equal(text.code, 0, text.stderr);
      assert.equal(text.stdout.split('\n---\n').length, 6);
      const r = await runCli(['split', '--json', join(dir, 'job.yaml'), 'runtime=1h'], env(dir));
      assert.equal(r.code, 0, r.stderr);
      const rows = JSON.parse(r.stdout) as { file: string; name: string; job: Record<string, unknown> }[];
      assert.deepEqual(rows.map((x) => [x.job.fs, (x.job['fio-setup-basic'] as { bs: string }).bs, x.job.runtime]), [
        ['xfs', '4k', '1h'], ['xfs', '1M', '1h'], ['ext4', '4k', '1h'], ['ext4', '1M', '1h'], ['btrfs', '4k', '1h'], ['btrfs', '1M', '1h'],
      ]);
      assert.equal(rows[0]!.name, 'job-4k-xfs-1h.yaml');
    });
  });

  test('-o DIR writes one file per job, named as split-job names them, that loads back to the same job', async () => {
    await inDir({ 'job.yaml': JOB }, async (dir) => {
      const out = join(dir, 'out');
      const r = await runCli(['split', '-o', out, join(dir, 'job.yaml')], env(dir));
      assert.equal(r.code, 0, r.stderr);
      const names = readdirSync(out).sort();
      assert.equal(names.length, 6);
      assert.ok(names.includes('job-1M-btrfs-300s.yaml'), names.join(' '));
      const back = loadJobFile(join(out, 'job-1M-btrfs-300s.yaml')).jobs;
      assert.deepEqual(back, [{ suite: 'fio-basic', testcase: 'fio-basic', runtime: '300s', fs: 'btrfs', 'fio-setup-basic': { bs: '1M' } }]);
      assert.match(readFileSync(join(out, names[0]!), 'utf8'), /^# .*job\.yaml\n/);
    });
  });

  test('bad input exits 2 with file:line:col', async () => {
    await inDir({ 'bad.yaml': 'suite: s\nruntime: soon\n' }, async (dir) => {
      const r = await runCli(['split', join(dir, 'bad.yaml')], env(dir));
      assert.equal(r.code, 2);
      assert.match(r.stderr, /bad\.yaml:2:10 runtime: expected a whole number of seconds/);
    });
  });
});

describe('stacklab submit: compass-ci’s options', () => {
  test('--dry-run with -c, ~/.config/stacklab/defaults.yaml, -i before and after, -s and k=v on both sides', async () => {
    await inDir(
      {
        'home/.config/stacklab/defaults.yaml': 'my_account: alice\nmy_token: secret\nos: debian\n',
        'cci.yaml': 'my_email: a@example.org\nos: openeuler\n',
        'under.yaml': 'testbox: dc\nfs: ext4\n',
        'over.yaml': 'priority: 3\n',
        'job.yaml': 'suite: host-info\nfs: xfs\n',
      },
      async (dir) => {
        const f = (n: string) => join(dir, n);
        const r = await runCli(['submit', '--dry-run', '--local', '--json', '-c', f('cci.yaml'), '-i', f('under.yaml'), 'testbox=dc-8g', f('job.yaml'), '-i', f('over.yaml'), '-s', 'runtime: 10m', 'fs=btrfs'], env(dir));
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), [
          { suite: 'host-info', fs: 'btrfs', my_account: 'alice', os: 'openeuler', my_email: 'a@example.org', testbox: 'dc-8g', priority: 3, runtime: '10m' },
        ]);
      },
    );
  });

  test('--strict makes a near miss an error; a cluster job is refused with the reason before anything is sent', async () => {
    await inDir({ 'typo.yaml': 'suite: s\nruntim: 5\n', 'cluster.yaml': 'suite: netperf\ncluster: cs-localhost\nif role server:\n  netserver:\n' }, async (dir) => {
      const warn = await runCli(['submit', '--dry-run', '--local', join(dir, 'typo.yaml')], env(dir));
      assert.equal(warn.code, 0);
      assert.match(warn.stderr, /warning: .*typo\.yaml:2:1 runtim: unknown field; did you mean runtime\?/);
      const strict = await runCli(['submit', '--strict', '--dry-run', '--local', join(dir, 'typo.yaml')], env(dir));
      assert.equal(strict.code, 2);
      const cluster = await runCli(['submit', join(dir, 'cluster.yaml')], env(dir));
      assert.equal(cluster.code, 2);
      assert.match(cluster.stderr, /cluster\.yaml:2:10 cluster: cluster jobs need several testboxes/);
    });
  });

  test('--help documents the options and the defaults file', async () => {
    const r = await runCli(['submit', '--help']);
    for (const s of ['--set <yaml>', '--include <file>', '--config <file>', '--strict', '--dry-run', '.config/stacklab/defaults.yaml', 'compass-ci']) assert.ok(r.stdout.includes(s), s);
  });
});
