// The testbox's artifact cache over a real HTTP server on loopback: an
// artifact is downloaded once per build key however many jobs ask at once,
// a download whose sha256 is not the one the scheduler recorded is refused
// and leaves nothing behind, and a cached file that went bad is fetched again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ArtifactCache } from '../../../src/testbox/artifact-cache.ts';
import { ApiClient } from '../../../src/api/client.ts';
import { packEntries } from '../../../src/artifacts/cgz.ts';
import type { ArtifactRef } from '../../../src/api/contract.ts';
import { tempDir } from '../../support/tmp.ts';

const t = tempDir();
const files = new Map<string, Buffer>();
const hits = new Map<string, number>();
let server: Server;
let client: ApiClient;

before(async () => {
  files.set('/initrd/good.cgz', await packEntries([{ name: 'bin/hello', data: '#!/bin/sh\necho hi\n', mode: 0o755 }, { name: 'lib/libhello.so', data: 'ELF?' }]));
  files.set('/initrd/tampered.cgz', await packEntries([{ name: 'bin/hello', data: 'something else' }]));
  server = createServer((req, res) => {
    hits.set(req.url!, (hits.get(req.url!) ?? 0) + 1);
    const body = files.get(req.url!);
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  client = new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

after(async () => {
  await new Promise((r) => server.close(r));
  t.cleanup();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ref = (url: string, key: string, digest = sha(files.get(url)!)): ArtifactRef => ({ pkg: 'hello', build_key: key, name: 'pkg.cgz', url, size: files.get(url)!.length, sha256: digest });

test('concurrent jobs of one build download and unpack its artifact once', async () => {
  const cache = new ArtifactCache(join(t.dir, 'cache-1'));
  const a = ref('/initrd/good.cgz', 'k1');
  const roots = await Promise.all([1, 2, 3, 4].map(() => cache.tree(client, a)));
  assert.equal(new Set(roots).size, 1);
  assert.equal(hits.get('/initrd/good.cgz'), 1);
  assert.equal(readFileSync(join(roots[0]!, 'bin', 'hello'), 'utf8'), '#!/bin/sh\necho hi\n');
  // A later job finds it unpacked: no request at all.
  await cache.tree(client, a);
  assert.equal(hits.get('/initrd/good.cgz'), 1);
});

test('a download whose sha256 differs from the recorded one is refused and deleted', async () => {
  const cache = new ArtifactCache(join(t.dir, 'cache-2'));
  const recorded = sha(files.get('/initrd/good.cgz')!); // what the scheduler verified at upload
  const a = ref('/initrd/tampered.cgz', 'k2', recorded);
  await assert.rejects(cache.tree(client, a), /has sha256 [0-9a-f]{64}, the scheduler recorded [0-9a-f]{64}: refused/);
  const left = readdirSync(join(t.dir, 'cache-2', 'k2'));
  assert.deepEqual(left.filter((f) => !f.endsWith('.d')), [], 'no file, not even a partial one');
  assert.ok(!existsSync(join(t.dir, 'cache-2', 'k2', 'pkg.cgz.d', '.stacklab-complete')), 'nothing marked unpacked');
});

test('a cached file that no longer matches its sha256 is downloaded again', async () => {
  const cache = new ArtifactCache(join(t.dir, 'cache-3'));
  const a = ref('/initrd/good.cgz', 'k3');
  const before = hits.get('/initrd/good.cgz') ?? 0;
  const file = await cache.file(client, a);
  writeFileSync(file, 'bit rot');
  const again = await cache.file(client, a);
  assert.equal(sha(readFileSync(again)), a.sha256);
  assert.equal(hits.get('/initrd/good.cgz'), before + 2);
});
