// `stacklab compare` and the dashboard pages in a real lab and a real
// browser: a server and two testboxes run a benchmark of a generated
// upstream at three commits, the last 10 % worse in a deterministic
// instruction count (as valgrind counts them) and in a noisy time. The CLI
// must show the regression as a user reads it (+10 % with its mark, the
// commit before it unchanged), refuse bad options with exit 2, and the
// dashboard's pages, opened in headless Chromium, must draw the plot, show
// the same numbers and keep hostile strings (a suite parameter's value, a
// label) inert. Without Chromium the browser half is skipped with a
// message, except under CI, where it must run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { tempDir } from '../support/tmp.ts';
import { makeRepo } from '../support/git.ts';
import { FAST_POLICY, makeLab } from '../support/lab.ts';
import { runCli, startServer, startTestbox, type Proc } from '../support/procs.ts';
import { APP_RECIPE, appC, CHROMIUM, CHROMIUM_ARGS, haveChromium } from '../support/browser.ts';
import { waitFor } from '../support/wait.ts';
import type { Comparison, Job } from '../../src/api/contract.ts';

const RUNS = 3;

// version 3 runs 10 % more instructions (exactly) and takes ~10 % longer (noise from the job id)
const BENCH = `#!/bin/sh
v=$(app | sed -n "s/^version: //p")
i=1000000; b=100; [ "$v" -ge 3 ] && i=1100000 && b=110
echo "instructions: $i"
awk -v s="$STACKLAB_JOB_ID" -v b="$b" 'BEGIN { srand(s); printf "t: %.3f\\n", b + 2 * rand() }'
`;

const HOSTILE = `"><script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"></text></svg><b>bold</b>`;

const get = async <T>(url: string): Promise<T> => {
  const r = await fetch(url);
  assert.equal(r.status, 200, `${url}: ${r.status} ${await r.clone().text()}`);
  return (await r.json()) as T;
};

async function noScriptRan(page: Page) {
  assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined, 'no hostile script or handler ran');
  assert.equal(await page.locator('img, script, b:text("bold")').count(), 0, 'no element made of a hostile string');
}

test('compare shows the regression by commit (CLI text, --json, bad options) and the dashboard pages in Chromium', async (t) => {
  const tmp = tempDir();
  const procs: Proc[] = [];
  let ok = false;
  try {
    const repo = join(tmp.dir, 'upstream');
    const shas = makeRepo(repo, [1, 2, 3].map((k) => ({ message: `app ${k}`, files: { 'app.c': appC(k) }, tag: `c${k}` })));
    const lab = makeLab(join(tmp.dir, 'lab'), {
      policy: { ...FAST_POLICY, build_testbox: 'dc-build', allow_local_upstreams: true },
      suites: { bench: { run: BENCH } },
      files: { 'upstreams/app/app.yaml': `url: ${repo}\n`, 'recipes/app/PKGBUILD': APP_RECIPE },
    });
    const server = await startServer({ data: join(tmp.dir, 'data'), lab });
    procs.push(server);
    for (const name of ['box-1', 'box-2']) procs.push(await startTestbox({ server: server.url, hostname: name, workdir: join(tmp.dir, name) }));

    // RUNS jobs at each commit, oldest commit first; c2's carry a hostile parameter value and label
    const jobs = [1, 2, 3].flatMap((k) =>
      Array.from({ length: RUNS }, () => ({ suite: 'bench', testbox: 'dc', runtime: 60, bench: { label: k === 2 ? HOSTILE : `plain-${k}` }, labels: { note: HOSTILE }, ss: { app: { commit: `c${k}` } } })),
    );
    const submitted = await fetch(`${server.url}/api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(jobs) });
    assert.equal(submitted.status, 200, await submitted.clone().text());
    const ids = ((await submitted.json()) as { job_id: number }[]).map((r) => r.job_id);
    const done = await waitFor('the bench jobs to finish', async () => {
      const list = await get<Job[]>(`${server.url}/api/jobs?suite=bench&stage=finish`);
      return list.length === ids.length && list;
    }, 180_000, 300);
    assert.ok(done.every((j) => j.job_health === 'success'), JSON.stringify(done.map((j) => [j.id, j.job_health])));

    // --json: the groups in submission order, the regression at c3 only
    const r = await runCli(['compare', '--server', server.url, '-g', 'ss.app.commit', '--suite', 'bench', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as Comparison;
    assert.deepEqual(c.groups.map((g) => g.key), shas);
    assert.deepEqual(c.groups.map((g) => g.jobs.length), [RUNS, RUNS, RUNS]);
    assert.match(c.groups[0]!.label, /\(c1\)$/);
    const ins = c.stats.find((s) => s.stat === 'bench.instructions')!;
    assert.equal(ins.groups[0]!.mean, 1_000_000);
    assert.equal(ins.groups[0]!.change, null, 'the base has no change');
    assert.equal(ins.groups[1]!.change!.change_pct, 0);
    assert.equal(ins.groups[1]!.change!.significant, false);
    assert.ok(Math.abs(ins.groups[2]!.change!.change_pct! - 10) < 1e-9, `instructions +10 %: ${ins.groups[2]!.change!.change_pct}`);
    assert.equal(ins.groups[2]!.change!.mark, '**');
    const time = c.stats.find((s) => s.stat === 'bench.t')!;
    const tc = time.groups[2]!.change!;
    assert.ok(tc.change_pct! > 7 && tc.change_pct! < 13, `time about +10 %: ${tc.change_pct}`);
    assert.ok(tc.significant && tc.p! < 0.01, `the time's rise is significant: p ${tc.p}`);
    assert.ok(!time.groups[1]!.change!.significant || Math.abs(time.groups[1]!.change!.change_pct!) < 3, 'c2 is not a regression');

    // the text table, as a user reads it: the instruction line says +10% **, c2's column 0.0%
    const text = await runCli(['compare', '--server', server.url, '--group-by', 'ss.app.commit', '--suite', 'bench', '--changed']);
    assert.equal(text.code, 0, text.stderr);
    const line = text.stdout.split('\n').find((l) => l.endsWith('bench.instructions'));
    assert.ok(line, text.stdout);
    assert.match(line, /^1000000\s+± 0\.0%\s+\+0\.0%\s+1000000\s+± 0\.0%\s+\+10% \*\*\s+1100000\s+± 0\.0%\s+bench\.instructions$/, line);
    assert.match(text.stdout, /\[0\] base [0-9a-f]{12} \(c1\): 3 job\(s\)/);

    // groups chosen and ordered by ref, the base moved: c3 against c1 reads +10 %, c1 against c3 −9.1 %
    const turned = JSON.parse((await runCli(['compare', '--server', server.url, '-g', 'ss.app.commit', '--groups', 'c3,c1', '--stat', 'instructions', '--json'])).stdout) as Comparison;
    assert.deepEqual(turned.groups.map((g) => g.key), [shas[2], shas[0]]);
    assert.deepEqual(turned.stats.map((s) => s.stat), ['bench.instructions']);
    assert.ok(Math.abs(turned.stats[0]!.groups[1]!.change!.change_pct! + 100 / 11) < 1e-9);
    // by a suite parameter; by a bisect id no job has; by ids
    const byLabel = JSON.parse((await runCli(['compare', '--server', server.url, '-g', 'bench.label', '--json'])).stdout) as Comparison;
    assert.deepEqual(byLabel.groups.map((g) => g.key), ['plain-1', HOSTILE, 'plain-3']);
    const labelled = JSON.parse((await runCli(['compare', '--server', server.url, '-g', 'ss.app.commit', '--where', 'bench.label=plain-3', '--json'])).stdout) as Comparison;
    assert.deepEqual(labelled.groups.map((g) => [g.key, g.jobs.length]), [[shas[2], RUNS]], 'only the jobs with that value');
    const none = JSON.parse((await runCli(['compare', '--server', server.url, '-g', 'ss.app.commit', '--bisect', '7', '--json'])).stdout) as Comparison;
    assert.equal(none.jobs, 0);
    const some = JSON.parse((await runCli(['compare', '--server', server.url, '-g', 'testbox', '--ids', `${ids[0]},${ids[8]}`, '--json'])).stdout) as Comparison;
    assert.equal(some.jobs, 2);

    // bad options: exit 2 with a message naming the problem
    for (const [args, said] of [
      [['compare', '--server', server.url], /group-by/],
      [['compare', '--server', server.url, '-g', 'bad field!'], /field path/],
      [['compare', '--server', server.url, '-g', 'testbox', '--ids', '1,x'], /job ids/],
      [['compare', '--server', server.url, '-g', 'testbox', '--alpha', '2'], /probability/],
      [['compare', '--server', server.url, '-g', 'testbox', '--where', 'novalue'], /FIELD=VALUE/],
      [['compare', '--server', server.url, '-g', 'ss.app.commit', '--groups', 'c1,nosuch'], /nosuch/],
      [['compare', '--server', server.url, '-g', 'ss.app.commit', '--base', 'nosuch'], /base/],
    ] as const) {
      const bad = await runCli([...args]);
      assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stdout}${bad.stderr}`);
      assert.match(bad.stderr, said);
    }
    const api400 = await fetch(`${server.url}/api/compare?group_by=ss.app.commit&alpha=7`);
    assert.equal(api400.status, 400);
    assert.deepEqual(Object.keys((await api400.json()) as object).sort(), ['details', 'error', 'message']);

    if (!haveChromium(t, 'the compare page browser checks are')) {
      ok = true;
      return;
    }
    const profile = join(tmp.dir, 'chromium-profile');
    mkdirSync(profile);
    const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1200, height: 1400 } });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));

      // the compare page: the plot of the chosen stat, one column of RUNS samples per commit, the table's +10% **
      let res = await page.goto(`${server.url}/ui/compare?group_by=ss.app.commit&suite=bench&plot=bench.instructions`, { waitUntil: 'load' });
      assert.equal(res?.status(), 200);
      const svg = page.locator('svg.compare-plot');
      assert.equal(await svg.count(), 1);
      const box = await svg.boundingBox();
      assert.ok(box && box.width > 300 && box.height > 100, `the plot is laid out: ${JSON.stringify(box)}`);
      assert.deepEqual(await page.$$eval('svg.compare-plot g.group', (gs) => gs.map((g) => g.querySelectorAll('circle.sample').length)), [RUNS, RUNS, RUNS]);
      assert.equal(await page.locator('svg.compare-plot line.mean').count(), 3);
      const row = page.locator('table.compare tr', { hasText: 'bench.instructions' });
      assert.match(await row.innerText(), /\+10% \*\*/);
      assert.equal(await page.locator('input[name=group_by]').inputValue(), 'ss.app.commit');
      const shot = join(tmp.dir, 'compare-page.png');
      await page.screenshot({ path: shot, fullPage: true });
      assert.ok(statSync(shot).size > 10_000, 'a screenshot with something on it');
      if (process.env.STACKLAB_TEST_KEEP) process.stderr.write(`screenshot: ${shot}\n`);
      // pick another stat from the table: its plot
      await row.locator('a').first().click();
      await page.locator('table.compare tr', { hasText: 'bench.t' }).locator('a').click();
      await page.waitForURL(/plot=bench\.t/);
      assert.match((await page.locator('svg.compare-plot title').first().textContent()) ?? '', /bench\.t per ss\.app\.commit/);

      // grouped by the hostile parameter: the value is text in the table and in the SVG, nothing ran
      res = await page.goto(`${server.url}/ui/compare?group_by=bench.label`, { waitUntil: 'load' });
      assert.equal(res?.status(), 200);
      assert.ok((await page.locator('table.groups').innerText()).includes(HOSTILE), 'the hostile value shown as written');
      assert.equal(await page.locator('svg.compare-plot g.group').count(), 3, 'the SVG was not closed early by a value');
      await noScriptRan(page);
      // a bad field is said on the page, with the form kept
      res = await page.goto(`${server.url}/ui/compare?group_by=${encodeURIComponent('bad field!')}`, { waitUntil: 'load' });
      assert.equal(res?.status(), 400);
      assert.match(await page.locator('p.failed').innerText(), /group_by/);

      // a job's page plots a stat's history across commits, and links to its siblings by commit
      await page.goto(`${server.url}/ui/jobs/${ids[7]}`, { waitUntil: 'load' });
      await noScriptRan(page);
      await page.locator('tr', { hasText: 'bench.instructions' }).locator('a.stat-history').click();
      await page.waitForURL(/plot=bench\.instructions/);
      assert.deepEqual(await page.$$eval('svg.compare-plot g.group', (gs) => gs.map((g) => g.querySelectorAll('circle.sample').length)), [RUNS, RUNS, RUNS]);
      await page.goBack();
      await page.locator('a.compare-link').first().click();
      await page.waitForURL(/\/ui\/compare\?/);
      assert.equal(await page.locator('svg.compare-plot g.group').count(), 3);

      // the front page: bisects above the jobs; the filter form; paging through the jobs
      await page.goto(`${server.url}/`, { waitUntil: 'load' });
      const headings = await page.$$eval('h2', (hs) => hs.map((h) => h.textContent ?? ''));
      assert.ok(headings.findIndex((h) => h.startsWith('Bisects')) < headings.findIndex((h) => h.startsWith('Jobs')), headings.join(', '));
      await noScriptRan(page);
      await page.selectOption('form.filters select[name=health]', 'not_success');
      await page.click('form.filters button');
      await page.waitForURL(/health=not_success/);
      assert.match(await page.locator('body').innerText(), /No job matches\./, 'every bench job succeeded');
      await page.goto(`${server.url}/?suite=bench&limit=4`, { waitUntil: 'load' });
      const shown = async () => page.$$eval('a[href^="/ui/jobs/"]', (as) => as.map((x) => Number(x.textContent)).filter((n) => n > 0));
      const pages: number[][] = [];
      for (;;) {
        const onPage = (await shown()).filter((id) => ids.includes(id));
        pages.push([...new Set(onPage)]);
        if ((await page.locator('a.older').count()) === 0) break;
        await page.click('a.older');
        await page.waitForLoadState('load');
      }
      assert.deepEqual(pages.map((p) => p.length), [4, 4, 1]);
      assert.deepEqual(pages.flat(), [...ids].reverse(), 'every job once, newest first');
      assert.equal(await page.locator('a.newest').count(), 1);

      // a build's page, from the front page's builds table: its inputs, the attempt, the jobs on it, the log
      await page.goto(`${server.url}/`, { waitUntil: 'load' });
      await page.locator('a[href^="/ui/builds/"]').first().click();
      await page.waitForURL(/\/ui\/builds\/[0-9a-f]{64}$/);
      const build = await page.locator('body').innerText();
      assert.match(build, /succeeded \(attempt 1\)/);
      assert.match(build, /Jobs on it \(0 waiting\)/);
      assert.equal(await page.locator('table.dependents tr').count(), RUNS + 1, 'its RUNS jobs');
      assert.equal(await page.locator('table.attempts tr').count(), 2, 'one pkgbuild job');
      const logHref = await page.locator('a.build-log').getAttribute('href');
      const log = await fetch(`${server.url}${logHref}`);
      assert.equal(log.status, 200, `the build log link ${logHref} works`);

      // a result directory: links for the browser, the JSON array for API clients
      const root = done.find((j) => j.id === ids[0])!.result_root;
      res = await page.goto(`${server.url}${root}/`, { waitUntil: 'load' });
      assert.equal(res?.status(), 200);
      assert.match(res!.headers()['content-type'] ?? '', /text\/html/);
      const entries = await page.$$eval('ul.listing a', (as) => as.map((x) => x.textContent));
      assert.ok(entries.includes('output'), entries.join(' '));
      await page.click('ul.listing a:text-is("output")');
      await page.waitForURL(/\/output$/);
      assert.match(await page.locator('body').innerText(), /instructions: 1000000/);
      const json = await fetch(`${server.url}${root}/`);
      assert.match(json.headers.get('content-type') ?? '', /application\/json/);
      assert.ok(((await json.json()) as string[]).includes('output'));
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
    ok = true;
  } finally {
    for (const p of procs.reverse()) await p.kill();
    if (ok && !process.env.STACKLAB_TEST_KEEP) tmp.cleanup();
    else process.stderr.write(`kept: ${tmp.dir}\n`);
  }
});
