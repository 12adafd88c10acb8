// Bisection in the lab (issue 5), with real server and testbox processes and
// a generated upstream of 30 commits: the build breaks at c14 (fixed at c17)
// and the test breaks from c20 on. `bisect start` finds each, the broken
// builds are skipped (never blamed) in the functional bisect, a second
// identical bisect builds nothing new, three testboxes take fewer rounds
// than one, and a server killed mid-bisect resumes it to the same answer.
// Then ends that lie (build, function, perf: a bad end that tests good is
// no culprit, exit 1, and says so), a test that fails only 60 % of the time
// after the culprit (found at the confidence asked for; a small budget is a
// best guess and exit 1), and perf samples spread over the testboxes.
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
/** The suite's commit number, from the installed app. */
const VERSION = 'v=$(app | sed -n "s/^version: //p")';
/** The k-th run of a bad commit in check-flaky: the first passes (so git's search alone goes wrong), 6 of 10 fail. */
const FLAKY = 'PFFPFPFFPF';

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
      suites: {
        'check-app': { run: '#!/bin/sh\napp\napp --check\n' },
        // broken from c5 to c9, fixed in c10: a range c1..c12 has a bad end that tests good
        'check-window': { run: `#!/bin/sh\n${VERSION}\nif [ "$v" -ge 5 ] && [ "$v" -le 9 ]; then echo "broken in $v"; exit 1; fi\n` },
        // from c20 on, the k-th run of a commit fails as FLAKY[k mod 10] says (60 %); mkdir numbers runs atomically across testboxes
        'check-flaky': { run: `#!/bin/sh\n${VERSION}\n[ "$v" -lt 20 ] && exit 0\nmkdir -p '${join(t.dir, 'flaky')}'\nk=0; while ! mkdir '${join(t.dir, 'flaky')}'/$v.$k 2>/dev/null; do k=$((k+1)); done\n[ "$(echo ${FLAKY} | cut -c$((k % 10 + 1)))" = F ] && { echo "flaked on run $k"; exit 1; }\nexit 0\n` },
        // 12 % slower from c8 on; box-2 is a slower machine (+6 %); noise from the job id
        'bench-app': { run: `#!/bin/sh\n${VERSION}\nb=100; [ "$v" -ge 8 ] && b=112\ncase "$PWD" in */box-2/*) b=$((b+6));; esac\nawk -v s="$STACKLAB_JOB_ID" -v b="$b" 'BEGIN { srand(s); printf "t: %.3f\\n", b + 2 * rand() }'\n` },
      },
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

  const labBisect = (args: string[]) => runCli(['bisect', 'start', jobFile(), '--server', server.url, '--pkg', 'app', '--wait', '--timeout', '240', ...args]);

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

  test('a second identical bisect creates no new builds; the package and the bad end are the job’s when not given', async () => {
    const builds = await api.get<Build[]>('/api/builds', { limit: 1000 });
    const before = builds.length;
    const cached = new Set(builds.map((x) => x.commit));
    // the job file names one ss package, app, at c30: the same bisect as --pkg app --bad c30
    const r = await runCli(['bisect', 'start', jobFile(), '--server', server.url, '--wait', '--timeout', '240', '--good', 'c1']);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 2000));
    assert.match(r.stdout, /^bisect id=(\d+) \(\d+ candidate commits of app between c1 and c30\)$/m);
    const b = await api.get<Bisect>(`/api/bisects/${/^bisect id=(\d+)/m.exec(r.stdout)![1]}`);
    assert.equal(b.bad, c(30));
    assert.equal(b.result!.first_bad, c(BROKEN_TEST));
    // The same path as the first: every commit it asks for is known, built or remembered failed.
    assert.deepEqual(b.result!.evidence.map((e) => e.sha), first!.result!.evidence.map((e) => e.sha));
    for (const e of b.result!.evidence.filter((x) => x.outcomes.length > 0)) assert.ok(cached.has(e.sha), `c${shas.indexOf(e.sha) + 1} was built before`);
    assert.equal((await api.get<Build[]>('/api/builds', { limit: 1000 })).length, before);
  });

  test('without --pkg or --bad a job that does not say them is exit 2 and the message', async () => {
    const { writeFileSync } = await import('node:fs');
    const cases: [string, RegExp][] = [
      ['suite: check-app\ntestbox: dc\n', /names no ss package to bisect/],
      ['suite: check-app\ntestbox: dc\nss:\n  app:\n    commit: c30\n  other:\n    commit: v1\n', /names ss packages app, other: say which to bisect with --pkg/],
      ['suite: check-app\ntestbox: dc\nss:\n  app:\n    config: x\n', /no --bad, and \S+ names no commit for app \(ss\.app\.commit\) to take as the bad end/],
    ];
    for (const [i, [text, message]] of cases.entries()) {
      const f = join(t.dir, `unsaid-${i}.yaml`);
      writeFileSync(f, text);
      const r = await runCli(['bisect', 'start', f, '--server', server.url, '--good', 'c1']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
    }
  });

  test('with three testboxes it takes fewer rounds than with one', async () => {
    for (const name of ['box-2', 'box-3']) boxes.push(await startTestbox({ server: server.url, hostname: name, workdir: join(t.dir, name) }));
    // Other builds than before (a build parameter), so the cache does not decide.
    const b = await bisect(['--good', 'c1', '--bad', 'c30', 'ss.app.opt=3']);
    assert.equal(b.result!.first_bad, c(BROKEN_TEST));
    assert.ok(b.result!.rounds < rounds1, `3 testboxes: ${b.result!.rounds} rounds, 1 testbox: ${rounds1}`);
  });

  test('build: a bad end that builds (the break was fixed later in the range) is no culprit; exit 1, the message, each run as it arrives', async () => {
    const r = await labBisect(['--criterion', 'build', '--good', 'c1', '--bad', 'c20']);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /^no regression shown: the bad end did not test bad\.$/m);
    assert.match(r.stdout, /^the bad end passed: a test that always fails after the first bad commit shows no regression in this range\. Yet \d+ commits? below it failed: was the failure fixed later in the range\?$/m);
    assert.doesNotMatch(r.stdout, /^first bad commit:/m);
    assert.match(r.stdout, new RegExp(`^ {2}good \\(bad end\\) +✓ +0/1 failed +${c(20).slice(0, 12)} commit 20$`, 'm'));
    // live progress: the run's verdict with its job and testbox, then how the bisect ended
    // (a build's run is its pkgbuild job's: a broken build's probe job never reaches a testbox)
    assert.match(r.stderr, new RegExp(`^ {2}run \\d+: ${c(20).slice(0, 8)} passed \\(job \\d+ on box-\\d, round \\d+\\)$`, 'm'));
    assert.match(r.stderr, new RegExp(`^ {2}run \\d+: ${c(14).slice(0, 8)} FAILED \\(job \\d+, round \\d+\\)$`, 'm'));
    assert.match(r.stderr, /^bisect \d+ done: the bad end passed: a test that always fails/m);
    assert.match(r.stderr, /found no single first bad commit \(no-regression\)/);
    // bisect show prints the same compact evidence
    const id = /^bisect id=(\d+)/m.exec(r.stdout)![1]!;
    const shown = await runCli(['bisect', 'show', id, '--server', server.url]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /^evidence \(history order, newest first; merged branches indented\):$/m);
    assert.equal(shown.stdout, r.stdout.slice(r.stdout.indexOf('\n') + 1), 'show prints the report wait printed');
  });

  test('function: a bad end that tests good (broken c5..c9, fixed in c10) is no culprit; exit 1 and the message', async () => {
    const r = await labBisect(['--good', 'c1', '--bad', 'c12', '--json', 'suite=check-window']);
    assert.equal(r.code, 1, r.stderr);
    const b = JSON.parse(r.stdout) as Bisect;
    assert.equal(b.result!.first_bad, null);
    assert.equal(b.result!.reason, 'no-regression');
    const end = b.result!.evidence.find((e) => e.end === 'bad')!;
    assert.equal(end.verdict, 'good');
    assert.ok(end.outcomes.length >= 20 && end.outcomes.every((o) => o === 'good'), end.outcomes.join(' '));
    assert.match(b.result!.message!, new RegExp(`^the bad end tested good ${end.outcomes.length} times: no regression in this range, or it fails less often than \\d+ % of runs \\(95 % bound\\)\\. Yet \\d+ commits? below it failed: was the failure fixed later in the range\\?$`));
    assert.ok(b.result!.evidence.some((e) => e.outcomes.includes('bad') && [5, 6, 7, 8, 9].map(c).includes(e.sha)), 'a commit of the broken window was probed');
  });

  test('perf: ends that do not differ are no culprit, exit 1, both medians said; each end measured on every testbox', async () => {
    const r = await labBisect(['--good', 'c1', '--bad', 'c6', '--metric', 'bench-app.t', '--direction', 'lower', '--json', 'suite=bench-app']);
    assert.equal(r.code, 1, r.stderr);
    const b = JSON.parse(r.stdout) as Bisect;
    assert.equal(b.result!.first_bad, null);
    assert.equal(b.result!.reason, 'no-regression');
    assert.match(b.result!.message!, /^the bad end is not measurably worse than the good end in bench-app\.t \(\d+ and \d+ samples, medians [\d.]+ and [\d.]+\): no regression in this range/);
    for (const end of [c(1), c(6)]) {
      const on = new Set(b.jobs.filter((j) => j.sha === end && j.outcome === 'good').map((j) => j.testbox));
      assert.deepEqual([...on].sort(), ['box-1', 'box-2', 'box-3'], `c${shas.indexOf(end) + 1} was measured on every testbox`);
    }
  });

  test('perf: a 12 % step found with samples spread over the testboxes, one of them 6 % slower', async () => {
    const b = await bisect(['--good', 'c1', '--bad', 'c12', '--metric', 'bench-app.t', '--direction', 'lower', 'suite=bench-app']);
    assert.equal(b.result!.first_bad, c(8));
    assert.equal(b.result!.parent, c(7));
    const perCommit = new Map<string, Set<string | null>>();
    for (const j of b.jobs.filter((x) => x.outcome === 'good')) perCommit.set(j.sha, (perCommit.get(j.sha) ?? new Set()).add(j.testbox));
    for (const [sha, boxes] of perCommit) {
      const n = b.jobs.filter((j) => j.sha === sha && j.outcome === 'good').length;
      assert.equal(boxes.size, Math.min(3, n), `c${shas.indexOf(sha) + 1}: ${n} samples on ${[...boxes].join(', ')}`);
    }
    // each sample is the job's metric, as the evidence has it
    const culprit = b.result!.evidence.find((e) => e.sha === c(8))!;
    assert.deepEqual([...(culprit.samples as number[])].sort(), b.jobs.filter((j) => j.sha === c(8) && j.value !== undefined).map((j) => j.value!).sort());
  });

  test('function: a test failing 60 % of runs after the culprit is found at the confidence asked for; a small budget is a best guess, exit 1', async () => {
    const b = await bisect(['--good', 'c17', '--bad', 'c26', '--confidence', '0.99', 'suite=check-flaky']);
    assert.equal(b.result!.first_bad, c(20));
    assert.equal(b.result!.stop, 'confidence');
    assert.ok(b.result!.confidence >= 0.99, String(b.result!.confidence));
    assert.ok(b.result!.evidence.some((e) => e.outcomes.includes('good') && e.outcomes.includes('bad')), 'the flakiness was seen');
    assert.equal(b.request.confidence, 0.99);

    const r = await labBisect(['--good', 'c17', '--bad', 'c26', '--budget', '5', '--json', 'suite=check-flaky']);
    assert.equal(r.code, 1, r.stderr);
    const short = JSON.parse(r.stdout) as Bisect;
    assert.ok(short.result!.samples <= 5 + 3, `${short.result!.samples} runs`);
    if (short.result!.first_bad !== null) {
      assert.equal(short.result!.stop, 'budget');
      assert.match(short.result!.message!, /^no commit reached 0\.95 within \d+ runs; the most likely first bad commit is [0-9a-f]{12}/);
    } else assert.match(short.result!.message!, /the run budget \(\d+ runs\) ran out before/);
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
