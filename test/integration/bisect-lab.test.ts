// Bisection in the lab (issue 5), with real server and testbox processes and
// a generated upstream of 30 commits: the build breaks at c14 (fixed at c17)
// and the test breaks from c20 on. `bisect start` finds each, the broken
// builds are skipped (never blamed) in the functional bisect, a second
// identical bisect builds nothing new, three testboxes take fewer rounds
// than one, and a server killed mid-bisect resumes it to the same answer.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { tempDir } from '../support/tmp.ts';
import { makeRepo } from '../support/git.ts';
import { FAST_POLICY, makeLab } from '../support/lab.ts';
import { runCli, startServer, startTestbox, type Proc } from '../support/procs.ts';
import { waitFor } from '../support/wait.ts';
import { ApiClient } from '../../src/api/client.ts';
import type { Bisect } from '../../src/api/contract.ts';
import type { Build } from '../../src/api/contract.ts';

const N = 30;
const BROKEN_BUILD = [14, 15, 16];
const BROKEN_TEST = 20;

const appC = (i: number) => `#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--check") == 0) return ${i >= BROKEN_TEST ? 1 : 0};
  printf("version: ${i}\\n")${BROKEN_BUILD.includes(i) ? '' : ';'}
  return 0;
}
`;

const RECIPE = `pkgname=app
pkgver=1
build() {
  cd "$srcdir/$pkgname"
  if [ -n "\${delay:-}" ]; then sleep "$delay"; fi
  cc -o app app.c
}
package() {
  install -Dm755 "$srcdir/$pkgname/app" "$pkgdir/bin/app"
}
`;

describe('bisect in the lab', () => {
  const t = tempDir();
  let shas: string[];
  const c = (i: number) => shas[i - 1]!;
  let lab: string;
  let data: string;
  let server: Proc & { url: string };
  const boxes: Proc[] = [];
  let api: ApiClient;
  const jobFile = () => join(t.dir, 'job.yaml');

  before(async () => {
    const repo = join(t.dir, 'upstream');
    shas = makeRepo(repo, Array.from({ length: N }, (_, k) => ({ message: `commit ${k + 1}`, files: { 'app.c': appC(k + 1) }, tag: `c${k + 1}` })));
    lab = makeLab(join(t.dir, 'lab'), {
      policy: { ...FAST_POLICY, build_testbox: 'dc-build', allow_local_upstreams: true },
      suites: { 'check-app': { run: '#!/bin/sh\napp\napp --check\n' } },
      files: { 'upstreams/app/app.yaml': `url: ${repo}\n`, 'recipes/app/PKGBUILD': RECIPE },
    });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(jobFile(), 'suite: check-app\ntestbox: dc\nruntime: 60\nss:\n  app:\n    commit: c30\n');
    data = join(t.dir, 'data');
    server = await startServer({ data, lab });
    api = new ApiClient(server.url);
    boxes.push(await startTestbox({ server: server.url, hostname: 'box-1', workdir: join(t.dir, 'box-1') }));
  });

  after(async () => {
    for (const b of boxes) await b.kill();
    await server.kill();
    t.cleanup();
  });

  const bisect = async (args: string[]) => {
    const r = await runCli(['bisect', 'start', jobFile(), '--server', server.url, '--pkg', 'app', '--wait', '--timeout', '240', '--json', ...args]);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 2000));
    return JSON.parse(r.stdout) as Bisect;
  };

  test('build criterion: the commit that broke the build', async () => {
    const b = await bisect(['--criterion', 'build', '--good', 'c1', '--bad', 'c15']);
    assert.equal(b.state, 'done');
    assert.equal(b.result!.first_bad, c(14));
    assert.equal(b.result!.parent, c(13));
    assert.equal(b.result!.commits[c(14)]!.subject, 'commit 14');
  });

  let rounds1 = 0;
  let first: Bisect | undefined;
  test('function criterion: the commit that broke the test, the broken builds skipped, not blamed', async () => {
    const b = await bisect(['--good', 'c1', '--bad', 'c30']);
    assert.equal(b.result!.first_bad, c(BROKEN_TEST));
    assert.equal(b.result!.parent, c(BROKEN_TEST - 1));
    const skipped = b.result!.evidence.filter((e) => e.verdict === 'skip').map((e) => e.sha);
    assert.ok(skipped.length > 0, 'a commit whose build fails was probed');
    for (const sha of skipped) assert.ok(BROKEN_BUILD.map(c).includes(sha), `${sha} skipped`);
    assert.deepEqual(b.result!.skipped.sort(), skipped.sort());
    // Every probe went through the normal submit path: jobs with ss.app.commit at the probed commit.
    const probe = await api.get<{ ss: { app: { commit: string } }; labels: { bisect: number } }>(`/api/jobs/${b.jobs[0]!.job_id}`);
    assert.equal(probe.ss.app.commit, b.jobs[0]!.sha);
    assert.equal(probe.labels.bisect, b.id);
    rounds1 = b.result!.rounds;
    first = b;
  });

  test('a second identical bisect creates no new builds', async () => {
    const builds = await api.get<Build[]>('/api/builds', { limit: 1000 });
    const before = builds.length;
    const cached = new Set(builds.map((x) => x.commit));
    const b = await bisect(['--good', 'c1', '--bad', 'c30']);
    assert.equal(b.result!.first_bad, c(BROKEN_TEST));
    // The same path as the first: every commit it asks for is known, built or remembered failed.
    assert.deepEqual(b.result!.evidence.map((e) => e.sha), first!.result!.evidence.map((e) => e.sha));
    for (const e of b.result!.evidence.filter((x) => x.outcomes.length > 0)) assert.ok(cached.has(e.sha), `c${shas.indexOf(e.sha) + 1} was built before`);
    assert.equal((await api.get<Build[]>('/api/builds', { limit: 1000 })).length, before);
  });

  test('with three testboxes it takes fewer rounds than with one', async () => {
    for (const name of ['box-2', 'box-3']) boxes.push(await startTestbox({ server: server.url, hostname: name, workdir: join(t.dir, name) }));
    // Other builds than before (a build parameter), so the cache does not decide.
    const b = await bisect(['--good', 'c1', '--bad', 'c30', 'ss.app.opt=3']);
    assert.equal(b.result!.first_bad, c(BROKEN_TEST));
    assert.ok(b.result!.rounds < rounds1, `3 testboxes: ${b.result!.rounds} rounds, 1 testbox: ${rounds1}`);
  });

  test('a server restarted in the middle of a bisect resumes it to the same answer', async () => {
    const start = await runCli(['bisect', 'start', jobFile(), '--server', server.url, '--pkg', 'app', '--good', 'c1', '--bad', 'c30', '--json', 'ss.app.delay=0.4']);
    assert.equal(start.code, 0, start.stderr);
    const id = (JSON.parse(start.stdout) as Bisect).id;
    // Some rounds in, but not done.
    await waitFor('the bisect to be under way', async () => {
      const b = await api.get<Bisect>(`/api/bisects/${id}`);
      assert.equal(b.state, 'running', 'finished before the restart; the test would prove nothing');
      return b.progress.samples >= 2;
    }, 120_000, 100);
    await server.kill('SIGKILL');
    server = await startServer({ data, lab });
    api = new ApiClient(server.url);
    for (const b of boxes) await b.kill();
    boxes.length = 0;
    for (const name of ['box-1', 'box-2', 'box-3']) boxes.push(await startTestbox({ server: server.url, hostname: name, workdir: join(t.dir, `${name}-again`) }));
    const w = await runCli(['bisect', 'wait', String(id), '--server', server.url, '--timeout', '240', '--json']);
    assert.equal(w.code, 0, w.stderr);
    const b = JSON.parse(w.stdout) as Bisect;
    assert.equal(b.result!.first_bad, c(BROKEN_TEST));
    assert.equal(b.result!.parent, c(BROKEN_TEST - 1));
    // Every probe job counted once: the log's runs and the recorded jobs agree.
    assert.equal(b.jobs.filter((j) => j.recorded).length, b.progress.samples + b.result!.evidence.reduce((n, e) => n + e.outcomes.filter((o) => o === 'infra').length, 0));
  });
});
