// The dashboard's bisect page in a real browser (headless Chromium through
// playwright-core): a real server and two testboxes run a perf bisect of a
// generated upstream whose commit subjects are hostile markup; the page then
// shows the evidence plot as server-rendered SVG with exactly one mark per
// commit probed and the boundary at the answer, the subjects as inert text
// (no element, no handler ran), and a screenshot is taken. Without Chromium
// the test is skipped with a message, except under CI, where it must run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { tempDir } from '../support/tmp.ts';
import { makeRepo } from '../support/git.ts';
import { FAST_POLICY, makeLab } from '../support/lab.ts';
import { runCli, startServer, startTestbox, type Proc } from '../support/procs.ts';
import { APP_RECIPE, appC, CHROMIUM, CHROMIUM_ARGS, haveChromium } from '../support/browser.ts';
import type { Bisect } from '../../src/api/contract.ts';

const N = 16;
const STEP = 9;

// 10 % slower from c9 on; noise from the job id
const BENCH = `#!/bin/sh
v=$(app | sed -n "s/^version: //p")
b=100; [ "$v" -ge ${STEP} ] && b=110
awk -v s="$STACKLAB_JOB_ID" -v b="$b" 'BEGIN { srand(s); printf "t: %.3f\\n", b + 3 * rand() }'
`;

/** A subject that would run script, load an image or close the SVG if any of it were markup. */
const hostile = (i: number) => `commit ${i} "><script>window.__pwned=${i}</script><img src=x onerror="window.__pwned=${i}"></title></svg><b>bold</b>`;

test('the bisect page draws the evidence as SVG in Chromium: one mark per probed commit, the boundary, inert subjects; a screenshot', async (t) => {
  if (!haveChromium(t, 'the bisect page browser test is')) return;
  const tmp = tempDir();
  const procs: Proc[] = [];
  let ok = false;
  try {
    const repo = join(tmp.dir, 'upstream');
    const shas = makeRepo(repo, Array.from({ length: N }, (_, k) => ({ message: hostile(k + 1), files: { 'app.c': appC(k + 1) }, tag: `c${k + 1}` })));
    const lab = makeLab(join(tmp.dir, 'lab'), {
      policy: { ...FAST_POLICY, build_testbox: 'dc-build', allow_local_upstreams: true },
      suites: { bench: { run: BENCH } },
      files: { 'upstreams/app/app.yaml': `url: ${repo}\n`, 'recipes/app/PKGBUILD': APP_RECIPE },
    });
    const jobFile = join(tmp.dir, 'job.yaml');
    writeFileSync(jobFile, `suite: bench\ntestbox: dc\nruntime: 60\nss:\n  app:\n    commit: c${N}\n`);
    const server = await startServer({ data: join(tmp.dir, 'data'), lab });
    procs.push(server);
    for (const name of ['box-1', 'box-2']) procs.push(await startTestbox({ server: server.url, hostname: name, workdir: join(tmp.dir, name) }));

    // A finished lab bisect, driven by the server itself.
    const r = await runCli(['bisect', 'start', jobFile, '--server', server.url, '--pkg', 'app', '--good', 'c1', '--bad', `c${N}`, '--metric', 'bench.t', '--direction', 'lower', '--wait', '--timeout', '240', '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout.slice(0, 2000));
    const b = JSON.parse(r.stdout) as Bisect;
    assert.equal(b.result!.first_bad, shas[STEP - 1]);
    const probed = b.result!.evidence.map((e) => e.sha);
    assert.equal(probed.length, b.result!.probes);

    const profile = join(tmp.dir, 'chromium-profile');
    mkdirSync(profile);
    const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1100, height: 1400 } });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const res = await page.goto(`${server.url}/ui/bisects/${b.id}`, { waitUntil: 'load' });
      assert.equal(res?.status(), 200);
      const svg = page.locator('svg.bisect-plot');
      assert.equal(await svg.count(), 1, 'one plot');
      const box = await svg.boundingBox();
      assert.ok(box && box.width > 300 && box.height > 100, `the plot is laid out: ${JSON.stringify(box)}`);
      // one mark per commit probed, each named by its sha; the boundary drawn at the first bad commit
      const marks = await page.$$eval('svg.bisect-plot g.mark', (gs) => gs.map((g) => g.getAttribute('data-sha')));
      assert.deepEqual([...marks].sort(), [...probed].sort());
      assert.equal(await page.locator('svg.bisect-plot line.boundary').count(), 1);
      assert.equal(await page.locator(`svg.bisect-plot g.mark[data-sha="${shas[STEP - 1]}"][data-verdict="bad"]`).count(), 1);
      // the hostile subjects are text: no script ran, no element was made of them
      assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined);
      assert.equal(await page.locator('img, script, b:text("bold")').count(), 0);
      const text = await page.locator('body').innerText();
      assert.ok(text.includes(`${hostile(STEP)}`), 'the culprit\'s subject is shown as written');
      assert.deepEqual(errors, []);
      const shot = join(tmp.dir, 'bisect-page.png');
      await page.screenshot({ path: shot, fullPage: true });
      const png = readFileSync(shot);
      assert.equal(png.subarray(1, 4).toString(), 'PNG');
      assert.ok(statSync(shot).size > 10_000, 'a screenshot with something on it');
      if (process.env.STACKLAB_TEST_KEEP) process.stderr.write(`screenshot: ${shot}\n`);
    } finally {
      await browser.close();
    }
    ok = true;
  } finally {
    for (const p of procs.reverse()) await p.kill();
    // STACKLAB_TEST_KEEP keeps the temp dir (the screenshot) to look at; a failure keeps it too
    if (ok && !process.env.STACKLAB_TEST_KEEP) tmp.cleanup();
    else process.stderr.write(`kept: ${tmp.dir}\n`);
  }
});
