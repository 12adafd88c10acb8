// .cgz archives: round trips, interoperability with Debian's cpio, determinism,
// and refusal of every unsafe entry an archive can carry.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { list, packDirectory, packEntries, sha256File, unpack } from '../../../src/artifacts/cgz.ts';
import { dataPadding, encodeHeader, S_IFDIR, S_IFLNK, S_IFREG, trailer } from '../../../src/artifacts/cpio.ts';
import { tempDir } from '../../support/tmp.ts';

function makeTree(root: string): void {
  mkdirSync(join(root, 'a', 'b'), { recursive: true });
  writeFileSync(join(root, 'a', 'b', 'deep.txt'), 'deep\n');
  writeFileSync(join(root, 'empty'), '');
  writeFileSync(join(root, 'run'), '#!/bin/sh\necho run\n');
  chmodSync(join(root, 'run'), 0o755);
  writeFileSync(join(root, 'héllo wörld.txt'), 'unicode\n');
  writeFileSync(join(root, 'big.bin'), Buffer.alloc(1_500_000, 7));
  symlinkSync('a/b/deep.txt', join(root, 'link'));
}

/** A raw archive from hand-made entries, for the cases our writer never produces. */
function rawArchive(entries: { name: string; mode: number; data?: string }[]): Buffer {
  const parts: Buffer[] = [];
  entries.forEach((e, i) => {
    const data = Buffer.from(e.data ?? '');
    parts.push(encodeHeader({ name: e.name, mode: e.mode, size: data.length, ino: i + 1, nlink: 1 }), data, dataPadding(data.length));
  });
  parts.push(trailer());
  return gzipSync(Buffer.concat(parts));
}

describe('cgz', () => {
  test('pack then unpack gives the same tree: contents, exec bits, symlinks, unicode names, a large file', async () => {
    const t = tempDir();
    try {
      makeTree(join(t.dir, 'src'));
      const r = await packDirectory(join(t.dir, 'src'), join(t.dir, 'x.cgz'));
      assert.equal(r.files, 6);
      assert.equal(r.sha256, await sha256File(join(t.dir, 'x.cgz')));
      assert.equal(r.size, statSync(join(t.dir, 'x.cgz')).size);
      await unpack(join(t.dir, 'x.cgz'), join(t.dir, 'out'));
      execFileSync('diff', ['-r', '--no-dereference', join(t.dir, 'src'), join(t.dir, 'out')]);
      assert.equal(statSync(join(t.dir, 'out', 'run')).mode & 0o777, 0o755);
      assert.equal(readlinkSync(join(t.dir, 'out', 'link')), 'a/b/deep.txt');
    } finally {
      t.cleanup();
    }
  });

  test("Debian's cpio lists exactly our names and extracts the same content", async () => {
    const t = tempDir();
    try {
      makeTree(join(t.dir, 'src'));
      await packDirectory(join(t.dir, 'src'), join(t.dir, 'x.cgz'));
      const gz = readFileSync(join(t.dir, 'x.cgz'));
      const raw = execFileSync('gzip', ['-dc'], { input: gz, maxBuffer: 64 << 20 });
      const names = execFileSync('cpio', ['-it', '--quiet'], { input: raw, encoding: 'utf8' }).trim().split('\n');
      assert.deepEqual(names, ['a', 'a/b', 'a/b/deep.txt', 'big.bin', 'empty', 'héllo wörld.txt', 'link', 'run']);
      mkdirSync(join(t.dir, 'ext'));
      execFileSync('cpio', ['-idm', '--quiet'], { input: raw, cwd: join(t.dir, 'ext') });
      execFileSync('diff', ['-r', '--no-dereference', join(t.dir, 'src'), join(t.dir, 'ext')]);
    } finally {
      t.cleanup();
    }
  });

  test("we read an archive made by Debian's cpio", async () => {
    const t = tempDir();
    try {
      makeTree(join(t.dir, 'src'));
      const names = execFileSync('find', ['.', '-mindepth', '1'], { cwd: join(t.dir, 'src'), encoding: 'utf8' });
      const raw = execFileSync('cpio', ['-o', '-H', 'newc', '--quiet'], { cwd: join(t.dir, 'src'), input: names, maxBuffer: 64 << 20 });
      writeFileSync(join(t.dir, 'theirs.cgz'), gzipSync(raw));
      await unpack(join(t.dir, 'theirs.cgz'), join(t.dir, 'out'));
      execFileSync('diff', ['-r', '--no-dereference', join(t.dir, 'src'), join(t.dir, 'out')]);
      const entries = await list(join(t.dir, 'theirs.cgz'));
      assert.ok(entries.some((e) => e.name === 'link' && e.type === 'symlink'), JSON.stringify(entries.map((e) => e.name)));
    } finally {
      t.cleanup();
    }
  });

  test('the same tree packs to the same bytes', async () => {
    const t = tempDir();
    try {
      makeTree(join(t.dir, 'src'));
      const a = await packDirectory(join(t.dir, 'src'), join(t.dir, 'a.cgz'));
      // Touch every file: times do not reach the archive.
      execFileSync('touch', ['-d', '2001-01-01', join(t.dir, 'src', 'run'), join(t.dir, 'src', 'empty')]);
      const b = await packDirectory(join(t.dir, 'src'), join(t.dir, 'b.cgz'));
      assert.equal(a.sha256, b.sha256);
    } finally {
      t.cleanup();
    }
  });

  test('packDirectory with a prefix puts the tree under it; packEntries makes parent directories', async () => {
    const t = tempDir();
    try {
      mkdirSync(join(t.dir, 'mods', '5.10'), { recursive: true });
      writeFileSync(join(t.dir, 'mods', '5.10', 'x.ko'), 'ko');
      await packDirectory(join(t.dir, 'mods'), join(t.dir, 'm.cgz'), { prefix: 'lib/modules' });
      assert.deepEqual((await list(join(t.dir, 'm.cgz'))).map((e) => e.name), ['lib', 'lib/modules', 'lib/modules/5.10', 'lib/modules/5.10/x.ko']);
      const buf = await packEntries([{ name: 'suite/run', data: '#!/bin/sh\n', mode: 0o755 }, { name: 'job.yaml', data: 'a: 1\n' }]);
      assert.deepEqual((await list(buf)).map((e) => `${e.name}:${e.type}`), ['job.yaml:file', 'suite:dir', 'suite/run:file']);
    } finally {
      t.cleanup();
    }
  });

  describe('unsafe archives are refused, naming the entry', () => {
    const cases: [string, { name: string; mode: number; data?: string }[], RegExp][] = [
      ['an absolute name', [{ name: '/etc/evil', mode: S_IFREG | 0o644, data: 'x' }], /"\/etc\/evil": absolute path/],
      ['a .. component', [{ name: 'a/../../evil', mode: S_IFREG | 0o644, data: 'x' }], /"a\/\.\.\/\.\.\/evil": '\.\.' in the path/],
      [
        'a write through a symlink of the archive',
        [
          { name: 'escape', mode: S_IFLNK | 0o777, data: '/tmp' },
          { name: 'escape/evil', mode: S_IFREG | 0o644, data: 'x' },
        ],
        /"escape\/evil": it would be written through the symlink/,
      ],
      ['a device entry', [{ name: 'dev', mode: 0o020000 | 0o644 }], /"dev": device, fifo or socket/],
      ['a directory replaced by a symlink first', [{ name: 'd', mode: S_IFLNK | 0o777, data: '/' }, { name: 'd', mode: S_IFDIR | 0o755 }], /"d": a symlink is in its place/],
    ];
    for (const [what, entries, message] of cases) {
      test(what, async () => {
        const t = tempDir();
        try {
          writeFileSync(join(t.dir, 'bad.cgz'), rawArchive(entries));
          await assert.rejects(unpack(join(t.dir, 'bad.cgz'), join(t.dir, 'out')), message);
          assert.ok(!existsSync('/tmp/evil') || lstatSync('/tmp/evil').mtimeMs < Date.now() - 60_000);
        } finally {
          t.cleanup();
        }
      });
    }

    test('past maxBytes', async () => {
      const t = tempDir();
      try {
        writeFileSync(join(t.dir, 'big.cgz'), rawArchive([{ name: 'f', mode: S_IFREG | 0o644, data: 'x'.repeat(1000) }]));
        await assert.rejects(unpack(join(t.dir, 'big.cgz'), join(t.dir, 'out'), { maxBytes: 100 }), /larger than 100 bytes/);
      } finally {
        t.cleanup();
      }
    });
  });

  test('truncated and garbled archives fail with a clear error, never hang', async () => {
    const t = tempDir();
    try {
      const good = rawArchive([{ name: 'f', mode: S_IFREG | 0o644, data: 'hello world' }]);
      const raw = execFileSync('gzip', ['-dc'], { input: good });
      writeFileSync(join(t.dir, 'trunc.cgz'), gzipSync(raw.subarray(0, 120)));
      await assert.rejects(unpack(join(t.dir, 'trunc.cgz'), join(t.dir, 'o1')), /truncated/);
      writeFileSync(join(t.dir, 'magic.cgz'), gzipSync(Buffer.from('070707' + '0'.repeat(200))));
      await assert.rejects(unpack(join(t.dir, 'magic.cgz'), join(t.dir, 'o2')), /bad magic "070707"/);
      writeFileSync(join(t.dir, 'notgz.cgz'), 'plain text');
      await assert.rejects(unpack(join(t.dir, 'notgz.cgz'), join(t.dir, 'o3')), /header/);
    } finally {
      t.cleanup();
    }
  });
});
