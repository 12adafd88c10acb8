// The CLI's small pieces: a server URL as users type it, event details as
// key=value words (never JSON), and a build log read as it grows from a
// real HTTP server on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { checkServerUrl } from '../../../src/cli/options.ts';
import { eventLine, keepTrying, keyValues } from '../../../src/cli/follow.ts';
import { LogTail } from '../../../src/cli/build-follow.ts';
import { ApiClient, UnreachableError } from '../../../src/api/client.ts';

test('a server URL without a scheme is http; garbage is refused with a reason', () => {
  assert.deepEqual(checkServerUrl('127.0.0.1:3000'), { url: 'http://127.0.0.1:3000' });
  assert.deepEqual(checkServerUrl('localhost:3000/'), { url: 'http://localhost:3000' });
  assert.deepEqual(checkServerUrl(' https://lab.example/stacklab/ '), { url: 'https://lab.example/stacklab' });
  assert.deepEqual(checkServerUrl('[::1]:3000'), { url: 'http://[::1]:3000' });
  for (const bad of ['', 'http://', 'ftp://lab', 'http://a b', 'http://lab?x=1', 'http://me:pw@lab']) assert.ok('error' in checkServerUrl(bad), bad);
});

test('details are key=value words: nested maps dotted, lists joined, nothing raw', () => {
  assert.deepEqual(keyValues({ health: 'dependency_failed', dep_failure: { pkg: 'hello', pkgbuild_job: 5, log: null }, ids: [1, 2], why: 'two words' }), [
    'health=dependency_failed', 'dep_failure.pkg=hello', 'dep_failure.pkgbuild_job=5', 'dep_failure.log=-', 'ids=1,2', 'why="two words"',
  ]);
  const line = eventLine(4, { time: '2026-12-02T05:46:48.053Z', event: 'finish', id: 9, health: 'failed', detail: { a: { b: 1 } } });
  assert.equal(line, '05:46:48.053  job 4  finish  health=failed detail.a.b=1');
});

test('keepTrying waits out a server that is down, saying so once, and gives up after its patience', async () => {
  const said: string[] = [];
  let calls = 0;
  const down = new UnreachableError('http://127.0.0.1:9', Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }));
  const v = await keepTrying(async () => (++calls < 4 ? Promise.reject(down) : 'up'), { say: (l) => said.push(l) });
  assert.equal(v, 'up');
  assert.equal(said.length, 2, said.join('\n'));
  assert.match(said[0]!, /^stacklab: server unreachable, retrying \(cannot reach the server at http:\/\/127\.0\.0\.1:9 \(connection refused\)\)$/);
  assert.match(said[1]!, /^stacklab: the server answers again/);
  await assert.rejects(keepTrying(() => Promise.reject(down), { patienceMs: 300, say: () => {} }), UnreachableError);
  await assert.rejects(keepTrying(() => Promise.reject(new Error('a bug')), { say: () => {} }), /a bug/, 'only a transient error is tried again');
});

test('a log is read as it grows: its tail first, then only new lines, an unfinished line at the end', async () => {
  let text = '';
  const srv = createServer((req, res) => {
    if (text === '') return void res.writeHead(404).end('{"error":"not_found","message":"no"}');
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
  }).listen(0, '127.0.0.1');
  await once(srv, 'listening');
  try {
    const client = new ApiClient(`http://127.0.0.1:${(srv.address() as { port: number }).port}`);
    const log = new LogTail(client, '/result/x/build.log');
    assert.deepEqual(await log.look(false), [], 'not there yet');
    text = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
    const first = await log.look(false);
    assert.equal(first[0], '  /result/x/build.log:');
    assert.equal(first[1], '  | … 10 lines before');
    assert.equal(first[2], '  | line 11');
    assert.equal(first.at(-1), '  | line 30');
    assert.deepEqual(await log.look(false), [], 'nothing new');
    text += 'line 31\nline 3';
    assert.deepEqual(await log.look(false), ['  | line 31']);
    text += '2';
    assert.deepEqual(await log.look(true), ['  | line 32']);
  } finally {
    srv.close();
  }
});

test('a running bisect names its most likely commit and, below the confidence asked for, that it stops there', async () => {
  const { roundLine } = await import('../../../src/cli/bisect-report.ts');
  const st = { rounds: 4, owed: 0, remaining: 1, judged: 3, samples: 5, best: { sha: 'c'.repeat(40), p: 0.73 } };
  const probes = [{ sha: 'a'.repeat(40), runs: 1, why: 'more' as const }];
  assert.match(roundLine(4, probes, st, 0.95), / · 1 candidate left · 3 judged · most likely cccccccc \(0\.73, stops at 0\.95\)$/);
  assert.match(roundLine(4, probes, st, 0.7), /most likely cccccccc \(0\.73\)$/);
  assert.match(roundLine(4, probes, { ...st, best: { sha: 'c'.repeat(40), p: 0.05 } }), /judged$/);
});
