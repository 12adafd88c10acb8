// Issue 13's CLI, day to day in the lab, with the real `stacklab` processes:
// no server listening is one clear line and exit 3; every bad option is
// exit 2 with its message; a reader closing the pipe ends the command
// quietly; --version; a server URL without a scheme; `bisect list`;
// `submit -m` following the build its job waits for (events, build log;
// the build's end before the job's release, even when its last look is
// slow), the tail of a failed job's output, the job's page URL; parameters and ss
// packages in the text views, never raw JSON; and a follower that outlasts
// a server restart.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { tempDir } from '../support/tmp.ts';
import { makeSsLab, type SsLab } from '../support/ss-lab.ts';
import { BIN, ROOT, firstJson, runCli, startProc, startTestbox, type Proc } from '../support/procs.ts';
import { waitFor } from '../support/wait.ts';
import { ApiClient } from '../../src/api/client.ts';
import type { Bisect, Comparison, Job } from '../../src/api/contract.ts';

/** A port nothing listens on (it was free a moment ago). */
async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  srv.close();
  await once(srv, 'close');
  return port;
}

/** A proxy in front of `target` that forwards GET /api/builds/… `delayMs` late and everything else at once. */
async function slowBuildsProxy(target: string, delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const to = new URL(target);
  const srv = createHttpServer((req, res) => {
    const forward = (): void => {
      const up = httpRequest({ host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    };
    if (req.method === 'GET' && req.url?.startsWith('/api/builds/')) setTimeout(forward, delayMs);
    else forward();
  }).listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      srv.closeAllConnections();
      srv.close();
      await once(srv, 'close');
    },
  };
}

/** Runs the CLI with stdout piped and closes the pipe at the first byte, as `| head -1` does. */
async function headOne(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; signal: string | null; first: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let first = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.once('data', (d: Buffer) => {
    first = d.toString().split('\n')[0]!;
    child.stdout.destroy();
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  return { code, signal, first, stderr };
}

const noStack = (text: string) => {
  assert.doesNotMatch(text, /TypeError|\n\s+at |node:internal|EPIPE/, `no stack trace or raw error:\n${text}`);
};

describe('the CLI without a server', () => {
  test('no server listening: one line with the URL, the reason and what to do; exit 3', async () => {
    const port = await freePort();
    for (const args of [['jobs', '--server', `http://127.0.0.1:${port}`], ['job', 'show', '1', '--server', `127.0.0.1:${port}`], ['builds', '--server', `127.0.0.1:${port}`]]) {
      const r = await runCli(args);
      assert.equal(r.code, 3, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`^stacklab: cannot reach the server at http://127\\.0\\.0\\.1:${port} \\(connection refused\\) — is \`stacklab up\``));
      assert.match(r.stderr, /set --server or STACKLAB_SERVER\n$/);
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
      noStack(r.stderr);
    }
    // the same from $STACKLAB_SERVER, without a scheme
    const r = await runCli(['testboxes'], { STACKLAB_SERVER: `127.0.0.1:${port}` });
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`at http://127\\.0\\.0\\.1:${port} `));
  });

  test('a bad option or argument is exit 2 with a message naming it, before anything runs', async () => {
    const cases: [string[], RegExp][] = [
      [['jobs', '--stage', 'bogus'], /option '--stage <stage>' argument 'bogus' is invalid\. expected one of submit, boot, running, post_run, finish/],
      [['jobs', '--health', 'sick'], /option '--health <health>' argument 'sick' is invalid\. expected one of success, failed/],
      [['jobs', '--limit', '0'], /option '--limit <n>' argument '0' is invalid\. expected a whole number from 1 to 1000/],
      [['jobs', '--limit', 'ten'], /option '--limit <n>' argument 'ten' is invalid/],
      [['jobs', '--before', '-3'], /option '--before <id>' argument '-3' is invalid/],
      [['jobs', '--suite', '../x'], /option '--suite <suite>' argument '\.\.\/x' is invalid\. expected a suite name/],
      [['jobs', '--server', 'http://'], /option '--server <url>' argument 'http:\/\/' is invalid\. expected a server URL/],
      [['jobs', '--server', 'ftp://lab'], /expected an http:\/\/ or https:\/\/ URL, not ftp:\/\//],
      [['jobs', '--server', 'http://a b'], /option '--server <url>' argument 'http:\/\/a b' is invalid/],
      [['job', 'show', 'abc'], /job id must be a positive integer, not "abc"/],
      [['job', 'wait', '1', '--timeout', 'soon'], /option '--timeout <s>' argument 'soon' is invalid\. expected a duration/],
      [['bisect', 'show', '0'], /bisect id must be a positive integer, not "0"/],
      [['bisect', 'list', '--limit', '5000'], /option '--limit <n>' argument '5000' is invalid/],
      [['builds', 'XYZ'], /value 'XYZ' is invalid for argument 'key'\. expected a build key or a prefix of one/],
      [['builds', '--pkg', 'Bad Name'], /option '--pkg <pkg>' argument 'Bad Name' is invalid\. expected a package name/],
      [['builds', '--state', 'done'], /option '--state <state>' argument 'done' is invalid\. expected one of queued, building/],
      [['testbox', '--log-level', 'loud'], /option '--log-level <level>' argument 'loud' is invalid\. expected one of fatal, error, warn, info/],
      [['testbox', '--mac', 'nope'], /option '--mac <mac>' argument 'nope' is invalid\. expected a MAC address/],
      [['testbox', '--hostname', '-x'], /option '--hostname <name>' argument '-x' is invalid/],
      [['testbox', '--build-env', 'keep_trees'], /option '--build-env <NAME=VALUE>' argument 'keep_trees' is invalid\. expected NAME=VALUE/],
      [['testbox', '--build-env', 'PATH=/tmp'], /argument 'PATH=\/tmp' is invalid\. PATH is set by the runner or changes how programs start/],
      [['up', '--build-env', 'a-b=1'], /argument 'a-b=1' is invalid\. "a-b" is not a variable name/],
      [['testbox', '--build-env', `big=${'x'.repeat(4097)}`], /big: a build setting's value is at most 4096 characters/],
      [['server', '--port', '70000'], /option '--port <port>' argument '70000' is invalid/],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')} exits 2: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      noStack(r.stderr);
    }
    const env = await runCli(['jobs'], { STACKLAB_SERVER: 'ftp://lab' });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /^stacklab: STACKLAB_SERVER="ftp:\/\/lab" is not a server URL: expected an http:\/\/ or https:\/\/ URL/);
  });

  test('--version prints the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await runCli([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${version}\n`);
    }
  });

  test('help shows the defaults of options', async () => {
    const r = await runCli(['jobs', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--limit <n> +at most this many \(default: 50\)/);
    assert.match(r.stdout, /--server <url>[\s\S]*\(default:\s+\$STACKLAB_SERVER or\s+http:\/\/127\.0\.0\.1:3000\)/);
    const tb = await runCli(['testbox', '--help']);
    assert.match(tb.stdout, /\(default: "info"\)/);
    assert.match(tb.stdout, /\(default: 1\)/);
  });

  test('a reader that closes the pipe early (| head -1) ends the command quietly', async () => {
    const t = tempDir();
    try {
      // Far more than a pipe holds, written line by line: the writes after the reader left fail with EPIPE.
      const file = join(t.dir, 'big.yaml');
      writeFileSync(file, `suite: square\ntestbox: dc\nsquare:\n  n: [${Array.from({ length: 3000 }, (_, i) => i + 1).join(', ')}]\n`);
      const r = await headOne(['submit', '--dry-run', '--local', file]);
      assert.equal(r.first, '# big-1.yaml');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
    } finally {
      t.cleanup();
    }
  });
});

/** A suite that leaves a kernel log in its result root, as a run that collects the kernel's messages does: with a warning when its argument is `warn`. */
const KMSG = `#!/bin/sh
echo "[    0.000000] Linux version 6.1.0 (stacklab@test) #1 SMP" > "$RESULT_ROOT/dmesg"
if [ "$1" = warn ]; then
  echo "[    2.104530] WARNING: CPU: 1 PID: $$ at fs/proc/meminfo.c:40 meminfo_proc_show+0x25/0x4a0" >> "$RESULT_ROOT/dmesg"
  echo "[    2.105100] RIP: 0010:meminfo_proc_show+0x25/0x4a0" >> "$RESULT_ROOT/dmesg"
fi
echo "WARNING: this line is the test's own, not the kernel's" >> "$RESULT_ROOT/dmesg"
echo "ran: 1"
`;

describe('the CLI day to day, against a lab with ss packages', () => {
  const t = tempDir();
  let lab: SsLab;
  let server: Proc & { url: string };
  const boxes: Proc[] = [];
  let api: ApiClient;
  let bare = ''; // the server's address without http://
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => runCli(args, { STACKLAB_SERVER: server.url, ...env });
  const file = (name: string, text: string) => {
    const f = join(t.dir, name);
    writeFileSync(f, text);
    return f;
  };

  before(async () => {
    // a lost testbox takes longer than the restart below: the job it runs survives it
    lab = makeSsLab(t.dir, { testbox_lost_after: 60 });
    for (const [name, run] of Object.entries({ fails: '#!/bin/sh\nfor i in $(seq 1 30); do echo "line $i"; done\necho "about to fail"\nexit 1\n', sleeper: '#!/bin/sh\necho "sleeping $secs"\nsleep "$secs"\necho "slept: 1"\n', kmsg: KMSG })) {
      const { mkdirSync, chmodSync } = await import('node:fs');
      mkdirSync(join(lab.lab, 'suites', name), { recursive: true });
      writeFileSync(join(lab.lab, 'suites', name, 'run'), run);
      chmodSync(join(lab.lab, 'suites', name, 'run'), 0o755);
    }
    const port = await freePort();
    server = await startFixed(port);
    bare = server.url.replace(/^http:\/\//, '');
    api = new ApiClient(server.url);
    boxes.push(await startTestbox({ server: server.url, hostname: 'box-1', workdir: join(t.dir, 'box-1'), extra: ['--slots', '3', '--build-env', 'delay=0', '--build-env', 'CCACHE_MAXSIZE=1G'] }));
  });

  after(async () => {
    for (const b of boxes) await b.kill();
    await server.kill();
    t.cleanup();
  });

  /** The server on a fixed port (so a restart keeps its address). */
  async function startFixed(port: number): Promise<Proc & { url: string }> {
    const proc = startProc(['server', '--data', join(t.dir, 'data'), '--lab', lab.lab, '--port', String(port), '--json', '--log-level', 'warn']);
    const { url } = await firstJson<{ url: string }>(proc, 'server');
    return { ...proc, url };
  }

  test('submit -m: the page URL, the build the jobs wait for (its events and log), the matrix parameters; a URL without a scheme', async () => {
    const f = file('hello.yaml', 'suite: use-hello\ntestbox: dc\nruntime: 60\nuse-hello:\n  n: [1, 2]\nss:\n  hello:\n    commit: v2\n    config: loud\n    delay: "1"\n');
    const r = await runCli(['submit', f, '-m', '--timeout', '120', '--server', bare]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const ids = [...r.stdout.matchAll(/^job id=(\d+) {2}(\S+)$/gm)].map((m) => [Number(m[1]), m[2]] as const);
    assert.equal(ids.length, 2, r.stdout);
    for (const [id, url] of ids) assert.equal(url, `${server.url}/ui/jobs/${id}`);
    const [first] = ids[0]!;
    const job = await api.get<Job>(`/api/jobs/${first}`);
    const dep = job.deps[0]!;
    const key = dep.build_key.slice(0, 12);
    assert.match(r.stdout, new RegExp(`^job ${first} waits for build hello ${key} \\(v2 ${dep.commit.slice(0, 8)}, config loud\\)`, 'm'));
    assert.match(r.stdout, new RegExp(`^build hello ${key}  \\S+  job ${dep.pkgbuild_job}  running  testbox=box-1$`, 'm'), 'the pkgbuild job’s events');
    assert.match(r.stdout, /^ {2}\/result\/pkgbuild\/\S+\/build\.log:$/m, 'the build log');
    assert.match(r.stdout, /^ {2}\| ==> build\(\)$/m);
    assert.match(r.stdout, /^ {2}\| ==> this testbox's build settings \(--build-env, not in the build key\): CCACHE_MAXSIZE=1G$/m, 'the job’s delay=1 wins over the box’s delay=0');
    assert.match(r.stdout, new RegExp(`^build hello ${key}: succeeded`, 'm'));
    // the build is shown before the jobs it held run
    assert.ok(r.stdout.indexOf(`build hello ${key}: succeeded`) < r.stdout.indexOf(`job ${first}  running`));
    assert.match(r.stdout, new RegExp(`^job ${first}  use-hello n=1  finish/success  use-hello\\.loud=1$`, 'm'));
    assert.match(r.stdout, new RegExp(`^job ${ids[1]![0]}  use-hello n=2  finish/success`, 'm'));
    assert.match(r.stdout, new RegExp(`^ {2}${server.url.replace(/\./g, '\\.')}/ui/jobs/${first}$`, 'm'), 'the page at the end');
    assert.doesNotMatch(r.stdout, /[{}]/, 'no raw JSON');

    // job show: parameters, the ss package, the page; jobs: params and ss columns; builds: params
    const show = await cli(['job', 'show', String(first)]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, new RegExp(`^ {2}page +${server.url.replace(/\./g, '\\.')}/ui/jobs/${first}$`, 'm'));
    assert.match(show.stdout, /^ {2}params +n=1$/m);
    assert.match(show.stdout, new RegExp(`^ {2}ss +hello@v2 \\(${dep.commit.slice(0, 8)}\\) config loud$`, 'm'));
    assert.match(show.stdout, /wait {2}pkg=hello build_key=\w+ pkgbuild_job=\d+ new_build=true/);
    assert.doesNotMatch(show.stdout, /[{}]/, 'no raw JSON');
    const jobs = await cli(['jobs', '--suite', 'use-hello']);
    assert.match(jobs.stdout, /^id +suite +params +testbox +stage +health +submitted +took +ss$/m);
    assert.match(jobs.stdout, new RegExp(`^${first} +use-hello +n=1 +box-1 +finish +success .* hello@v2 \\(${dep.commit.slice(0, 8)}\\) config loud$`, 'm'));
    const byPkg = await cli(['jobs', '--pkg', 'hello', '--commit', dep.commit.slice(0, 8), '--json']);
    assert.equal(byPkg.code, 0, byPkg.stderr);
    assert.ok((JSON.parse(byPkg.stdout) as { id: number }[]).some((j) => j.id === first), 'jobs --pkg --commit finds the job by its ss build');
    const otherCommit = await cli(['jobs', '--pkg', 'hello', '--commit', dep.commit.startsWith('0000') ? 'ffff' : '0000', '--json']);
    assert.deepEqual(JSON.parse(otherCommit.stdout), [], 'and not at another commit');
    const builds = await cli(['builds', '--pkg', 'hello']);
    assert.match(builds.stdout, /^key +pkg +commit +config +params +os +state/m);
    assert.match(builds.stdout, new RegExp(`^${key} +hello +${dep.commit.slice(0, 12)} \\(v2\\) +loud +delay=1 +`, 'm'));
  });

  test('a testbox’s --build-env reaches its builds without entering the build key', async () => {
    const f = file('box-env.yaml', 'suite: use-hello\ntestbox: dc\nruntime: 60\nss:\n  hello:\n    commit: v4\n');
    const r = await cli(['submit', f, '-m', '--timeout', '120']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /^ {2}\| ==> this testbox's build settings \(--build-env, not in the build key\): delay=0 CCACHE_MAXSIZE=1G$/m);
    const id = Number(/^job id=(\d+)/m.exec(r.stdout)![1]);
    const dep = (await api.get<Job>(`/api/jobs/${id}`)).deps[0]!;
    const builds = await cli(['builds', dep.build_key, '--json']);
    assert.deepEqual((JSON.parse(builds.stdout) as { params: Record<string, string> }).params, {}, 'the box’s settings are not the build’s parameters');
    // and who looks at the lab sees them on the box
    const listed = await cli(['testboxes']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^box-1: builds with delay=0 CCACHE_MAXSIZE=1G \(its --build-env: not in the build key; a build parameter of the same name wins\)$/m);
    const json = JSON.parse((await cli(['testboxes', '--json'])).stdout) as { hostname: string; build_env: Record<string, string> }[];
    assert.deepEqual(json.find((b) => b.hostname === 'box-1')?.build_env, { delay: '0', CCACHE_MAXSIZE: '1G' });
    const front = await (await fetch(`${server.url}/`)).text();
    assert.ok(front.includes('<code>delay=0</code> <code>CCACHE_MAXSIZE=1G</code>'), 'the dashboard’s testboxes table shows them');
  });

  test('a result root’s job.yaml submitted again is a rerun of the same software: same sha, same build, the uploaded config held by the lab', async () => {
    const config = file('mine.config', 'GREETING=LOUD-UPLOADED\n');
    const f = file('rerun.yaml', `suite: use-hello\ntestbox: dc\nruntime: 60\nss:\n  hello:\n    commit: v2\n    config: ${config}\n`);
    const first = await cli(['submit', f, '-m', '--timeout', '120']);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const id = Number(/^job id=(\d+)/m.exec(first.stdout)![1]);
    const job = await api.get<Job>(`/api/jobs/${id}`);
    const sha = job.deps[0]!.commit;
    const page = await (await fetch(`${server.url}/ui/jobs/${id}`)).text();
    assert.ok(page.includes(`<a href="${job.result_root}/job.yaml" title="stacklab submit job.yaml reruns it`), 'the job page links its job.yaml');
    const res = await fetch(`${server.url}${job.result_root}/job.yaml`);
    assert.equal(res.status, 200);
    const yaml = await res.text();
    assert.match(yaml, new RegExp(`^id: ${id}$`, 'm'));
    assert.match(yaml, new RegExp(`^ {4}commit: ${sha} # v2$`, 'm'), 'the commit it was built at, the ref beside it');
    // the rerun, after the config file was edited: the config the job ran with, by its digest
    writeFileSync(config, 'GREETING=quiet\n');
    const saved = file(`job-${id}.yaml`, yaml);
    const again = await cli(['submit', saved, '-m', '--timeout', '120']);
    assert.equal(again.code, 0, again.stderr + again.stdout);
    assert.match(again.stderr, new RegExp(`job-${id}\\.yaml is the job\\.yaml of job ${id}: a rerun, as you \\(its id, result_root and my_account left out\\)`));
    const rid = Number(/^job id=(\d+)/m.exec(again.stdout)![1]);
    assert.notEqual(rid, id);
    const rerun = await api.get<Job>(`/api/jobs/${rid}`);
    assert.equal((rerun.ss as { hello: { commit: string } }).hello.commit, sha, 'submitted at the sha, not at v2 (wherever it points by then)');
    assert.equal(rerun.deps[0]!.build_key, job.deps[0]!.build_key, 'the same build, reused');
    assert.match(again.stdout, new RegExp(`^\\S+ {2}job ${rid} {2}reuse {2}pkg=hello`, 'm'));
    assert.equal(rerun.stats?.['use-hello.loud'], 1, 'with the config it ran with, which the lab holds');
    // and it is what a bisect of that job starts from: its package, its commit as the bad end
    const bis = await cli(['bisect', 'start', saved, '--good', 'v1']);
    assert.equal(bis.code, 0, bis.stderr + bis.stdout);
    assert.match(bis.stderr, new RegExp(`job-${id}\\.yaml is the job\\.yaml of job ${id}: bisecting its job, as you`));
    assert.match(bis.stdout, new RegExp(`^bisect id=(\\d+) \\(1 candidate commits of hello between v1 and ${sha}\\)$`, 'm'));
    assert.equal((await cli(['bisect', 'cancel', /^bisect id=(\d+)/m.exec(bis.stdout)![1]!])).code, 0);
    // the job.yaml of the job that made its build says what to submit instead
    const maker = await api.get<Job>(`/api/jobs/${job.deps[0]!.pkgbuild_job}`);
    const made = await (await fetch(`${server.url}${maker.result_root}/job.yaml`)).text();
    const resubmitted = await cli(['submit', file(`job-${maker.id}.yaml`, made), '--dry-run']);
    assert.equal(resubmitted.code, 2, resubmitted.stderr);
    assert.match(resubmitted.stderr, new RegExp(`job-${maker.id}\\.yaml:\\d+:1 pkgbuild: this is the job\\.yaml of job ${maker.id}, the job that made build ${job.deps[0]!.build_key.slice(0, 12)} \\(hello at ${sha.slice(0, 12)}\\): a build is not submitted`));
    // a job.yaml is a rerun only as the scheduler wrote it: an id of its own is still refused
    const forged = await cli(['submit', file('forged.yaml', yaml.replace(/^id: \d+$/m, 'id: 99999')), '--dry-run']);
    assert.equal(forged.code, 2, forged.stderr);
    assert.match(forged.stderr, /forged\.yaml:1:1 id: set by the scheduler; a job cannot submit it/);
  });

  test('submit -m: a build whose last look comes late is still shown ended before the job it held is released', async () => {
    // the job's own timeline reaches the terminal first whenever the build's last look is slow (a loaded machine, a far server)
    const proxy = await slowBuildsProxy(server.url, 2500);
    try {
      const r = await runCli(['submit', file('late.yaml', 'suite: use-hello\ntestbox: dc\nruntime: 60\nss:\n  hello:\n    commit: v1\n    config: quiet\n'), '-m', '--timeout', '120', '--server', proxy.url]);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const id = Number(/^job id=(\d+)/m.exec(r.stdout)![1]);
      const key = (await api.get<Job>(`/api/jobs/${id}`)).deps[0]!.build_key.slice(0, 12);
      const ended = r.stdout.indexOf(`build hello ${key}: succeeded`);
      const released = r.stdout.search(new RegExp(`^\\S+  job ${id}  release`, 'm'));
      const running = r.stdout.indexOf(`job ${id}  running`);
      assert.ok(ended >= 0 && released >= 0 && running >= 0, r.stdout);
      assert.ok(ended < released && released < running, r.stdout);
    } finally {
      await proxy.close();
    }
  });

  test('submit -m of a failing job ends with the tail of its output; a job whose build failed, with the build log’s; exit 1', async () => {
    const r = await cli(['submit', file('fails.yaml', 'suite: fails\ntestbox: dc\nruntime: 60\n'), '-m', '--timeout', '60']);
    assert.equal(r.code, 1, r.stderr);
    const id = Number(/^job id=(\d+)/m.exec(r.stdout)![1]);
    assert.match(r.stdout, new RegExp(`^job ${id} failed: its output, its last 20 of 31 lines \\(${server.url.replace(/\./g, '\\.')}/result/fails/\\S+/output\\):$`, 'm'));
    assert.match(r.stdout, /^ {2}\| line 12$/m);
    assert.doesNotMatch(r.stdout, /^ {2}\| line 11$/m, 'only the tail');
    assert.match(r.stdout, /^ {2}\| about to fail$/m);
    assert.match(r.stderr, /1 of 1 jobs did not succeed/);

    const broken = await cli(['submit', file('broken.yaml', `suite: use-hello\ntestbox: dc\nruntime: 60\nss:\n  hello:\n    commit: ${lab.hello.broken}\n`), '-m', '--timeout', '60']);
    assert.equal(broken.code, 1, broken.stderr);
    const bid = Number(/^job id=(\d+)/m.exec(broken.stdout)![1]);
    assert.match(broken.stdout, /^ {2}\| hello\.c:\d+:\d+: error: expected ‘;’/m, 'the build log, as the build ended');
    assert.match(broken.stdout, new RegExp(`^job ${bid}  use-hello  finish/dependency_failed$`, 'm'));
    assert.match(broken.stdout, new RegExp(`^job ${bid} dependency_failed: build hello \\w{12} ended failed; its log is above`, 'm'));
    assert.match(broken.stdout, /finish {2}health=dependency_failed dep_failure\.pkg=hello dep_failure\.build_key=\w+ dep_failure\.pkgbuild_job=\d+ dep_failure\.health=failed dep_failure\.log=\/result\//);
    assert.doesNotMatch(broken.stdout, /[{}]/, 'no raw JSON');
    const show = await cli(['job', 'show', String(bid)]);
    assert.match(show.stdout, /^ {2}dep fail +pkg=hello build_key=\w+ pkgbuild_job=\d+ health=failed log=\/result\/\S+\/build\.log$/m);
    assert.match(show.stdout, new RegExp(`^ {2}ss +hello@${lab.hello.broken.slice(0, 12)}$`, 'm'));
    // job show -f of a finished job: its ending, with the build log's tail (not shown yet here), exit 1
    const f = await cli(['job', 'show', String(bid), '-f']);
    assert.equal(f.code, 1);
    assert.match(f.stdout, new RegExp(`^job ${bid} dependency_failed: build hello \\w{12} ended failed in job \\d+; its log, all of it \\(`, 'm'));
    assert.match(f.stdout, /^ {2}\| ==> failed: build\(\) failed \(exit 1\)$/m);
  });

  test('job files and job cat: a job’s result root from the terminal, and why a file is not there', async () => {
    const r = await cli(['submit', file('fails-again.yaml', 'suite: fails\ntestbox: dc\nruntime: 60\n'), '-m', '--timeout', '60']);
    const id = Number(/^job id=(\d+)/m.exec(r.stdout)![1]);
    const files = await cli(['job', 'files', String(id)]);
    assert.equal(files.code, 0, files.stderr);
    assert.deepEqual(files.stdout.trim().split('\n').filter((n) => ['job.yaml', 'output'].includes(n)), ['job.yaml', 'output']);
    const cat = await cli(['job', 'cat', String(id)]);
    assert.equal(cat.code, 0, cat.stderr);
    assert.match(cat.stdout, /^line 1\n[^]*^about to fail$/m, 'output by default, all of it');
    assert.match((await cli(['job', 'cat', String(id), 'job.yaml'])).stdout, new RegExp(`^id: ${id}$`, 'm'));
    const json = JSON.parse((await cli(['job', 'cat', String(id), '--json'])).stdout) as { url: string; text: string };
    assert.ok(json.url.startsWith(`${server.url}/result/fails/`) && json.url.endsWith(`/${id}/output`), json.url);
    assert.match(json.text, /about to fail/);
    const show = await cli(['job', 'show', String(id)]);
    assert.match(show.stdout, new RegExp(`^ {2}result +${server.url.replace(/\./g, '\\.')}/result/fails/\\S+/${id} {2}\\(stacklab job files ${id}; job cat ${id} \\[FILE\\]\\)$`, 'm'));
    const missing = await cli(['job', 'cat', String(id), 'dmesg']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, new RegExp(`^stacklab: job ${id} has no dmesg in its result root; it has job\\.yaml output`, 'm'));
    const outside = await cli(['job', 'cat', String(id), '../../../../../../etc/passwd']);
    assert.equal(outside.code, 2);
    assert.match(outside.stderr, /expected a path inside the job’s result root/);
    assert.match((await cli(['job', 'files', String(id), 'output'])).stderr, new RegExp(`output is a file, not a directory: stacklab job cat ${id} output`));
    // a build job's build log
    const used = await cli(['submit', file('uses.yaml', 'suite: use-hello\ntestbox: dc\nruntime: 60\nss:\n  hello:\n    commit: v1\n'), '-m', '--timeout', '120']);
    const maker = (await api.get<Job>(`/api/jobs/${/^job id=(\d+)/m.exec(used.stdout)![1]}`)).deps[0]!.pkgbuild_job;
    assert.match((await cli(['job', 'cat', String(maker), 'build.log'])).stdout, /^==> stacklab pkgbuild hello /m);
    // a job no testbox ever took has none, and says so
    const lonely = await cli(['submit', file('lonely.yaml', 'suite: fails\ntestbox: lonely-1\nruntime: 60\n')]);
    const lid = Number(/^job id=(\d+)/m.exec(lonely.stdout)![1]);
    const waiting = await cli(['job', 'cat', String(lid)]);
    assert.equal(waiting.code, 2);
    assert.match(waiting.stderr, new RegExp(`job ${lid} has no result files yet: it is in submit and no testbox has taken it`));
    assert.equal((await cli(['cancel', String(lid)])).code, 0);
    assert.match((await cli(['job', 'files', String(lid)])).stderr, new RegExp(`job ${lid} has no result files: no testbox ever ran it \\(finish/cancel\\)`));
  });

  test('a kernel log in the result root gives dmesg.* stats; compare counts a run without one as 0', async () => {
    const f = file('kmsg.yaml', 'suite: kmsg\ntestbox: dc\nruntime: 60\nkmsg:\n  - quiet\n  - warn\nlabels:\n  run: kmsg-1\n');
    for (let i = 0; i < 2; i++) assert.equal((await cli(['submit', f, '-m', '--timeout', '60'])).code, 0);
    const jobs = JSON.parse((await cli(['jobs', '--suite', 'kmsg', '--json'])).stdout) as Job[];
    const warned = jobs.filter((j) => j.kmsg === 'warn');
    assert.equal(warned.length, 2);
    for (const j of warned) assert.deepEqual(j.stats, { 'kmsg.ran': 1, 'dmesg.WARNING:at_fs/proc/meminfo.c:#meminfo_proc_show': 1, 'dmesg.RIP:meminfo_proc_show': 1 });
    for (const j of jobs.filter((x) => x.kmsg === 'quiet')) assert.deepEqual(j.stats, { 'kmsg.ran': 1 }, 'the test’s own WARNING line is not the kernel’s');
    const show = await cli(['job', 'show', String(warned[0]!.id)]);
    assert.match(show.stdout, /^ {4}dmesg\.WARNING:at_fs\/proc\/meminfo\.c:#meminfo_proc_show: 1$/m);
    const cmp = JSON.parse((await cli(['compare', '-g', 'kmsg', '--suite', 'kmsg', '--where', 'labels.run=kmsg-1', '--groups', 'quiet,warn', '--stat', 'dmesg.WARNING', '--json'])).stdout) as Comparison;
    const row = cmp.stats.find((x) => x.stat === 'dmesg.WARNING:at_fs/proc/meminfo.c:#meminfo_proc_show')!;
    assert.deepEqual(row.groups.map((g) => [g.n, g.mean]), [[2, 0], [2, 1]], 'the quiet runs count as runs without it');
    assert.equal(row.groups[1]!.change?.significant, true);
  });

  test('job show of a job whose kernel warned prints the bisect of that warning, a command that runs as printed', async () => {
    const r = await cli(['submit', file('kmsg-ss.yaml', 'suite: kmsg\nkmsg: warn\ntestbox: dc\nruntime: 60\nss:\n  hello:\n    commit: v2\n'), '-m', '--timeout', '120']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const id = Number(/^job id=(\d+)/m.exec(r.stdout)![1]);
    const show = (await cli(['job', 'show', String(id)])).stdout;
    const hint = /^ {4}(stacklab job cat .*)$/m.exec(show)?.[1];
    assert.equal(hint, `stacklab job cat ${id} job.yaml > job-${id}.yaml && stacklab bisect start job-${id}.yaml --good GOOD-COMMIT --errid 'dmesg.WARNING:at_fs/proc/meminfo.c:#meminfo_proc_show' --wait`);
    const page = await (await fetch(`${server.url}/ui/jobs/${id}`)).text();
    assert.ok(page.includes(`<code class="kernel-error">dmesg.WARNING:at_fs/proc/meminfo.c:#meminfo_proc_show</code></td><td><code>${hint!.split(' && ')[1]!.replace(/'/g, '&#39;')}</code>`), 'the job page lists it with the same command');
    // as a user pastes it, with a good commit and without waiting
    const command = `stacklab() { ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"; }; ${hint!.replace('GOOD-COMMIT', 'v1').replace(/ --wait$/, '')}`;
    const pasted = await new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => {
      execFile('bash', ['-c', command], { cwd: t.dir, env: { ...process.env, STACKLAB_SERVER: server.url } }, (err, stdout, stderr) => done({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr }));
    });
    assert.equal(pasted.code, 0, `${command}\n${pasted.stderr}${pasted.stdout}`);
    const bid = /^bisect id=(\d+) \(1 candidate commits of hello between v1 and [0-9a-f]{40}\)$/m.exec(pasted.stdout)?.[1];
    assert.ok(bid, pasted.stdout);
    const b = await api.get<Bisect>(`/api/bisects/${bid}`);
    assert.equal(b.request.errid, 'dmesg.WARNING:at_fs/proc/meminfo.c:#meminfo_proc_show', 'by that error');
    const cancel = await cli(['bisect', 'cancel', bid!]); // it may have ended already: one candidate
    assert.ok(cancel.code === 0 || /already ended/.test(cancel.stderr), cancel.stderr);
  });

  test('job show piped into head -1 ends quietly', async () => {
    const r = await headOne(['job', 'show', '1'], { STACKLAB_SERVER: server.url });
    assert.match(r.first, /^job 1 {2}use-hello {2}on dc/);
    assert.ok(r.code === 0, `exit ${r.code} ${r.signal}: ${r.stderr}`);
    assert.equal(r.stderr, '');
  });

  test('bisect list lists a lab bisect', async () => {
    const f = file('bisect.yaml', 'suite: use-hello\ntestbox: dc\nruntime: 60\nss:\n  hello:\n    commit: v2\n');
    const start = await cli(['bisect', 'start', f, '--pkg', 'hello', '--good', 'v2', '--bad', lab.hello.broken, '--criterion', 'build', '--json']);
    assert.equal(start.code, 0, start.stderr);
    const id = (JSON.parse(start.stdout) as { id: number }).id;
    const r = await cli(['bisect', 'list']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^id +pkg +criterion +range +state +candidates +runs +first bad +started$/m);
    assert.match(r.stdout, new RegExp(`^${id} +hello +build +v2\\.\\.${lab.hello.broken} +(running|done) +1 `, 'm'));
    const json = await cli(['bisect', 'list', '--json', '--limit', '1']);
    assert.deepEqual((JSON.parse(json.stdout) as { id: number }[]).map((b) => b.id), [id]);
    await waitFor('the bisect to end', async () => (await api.get<{ state: string }>(`/api/bisects/${id}`)).state !== 'running', 60_000, 200);
    assert.match((await cli(['bisect', 'list'])).stdout, new RegExp(`^${id} +hello .* done +1 +\\d+ +${lab.hello.broken.slice(0, 12)} \\(1\\.00\\)`, 'm'));
  });

  test('submit -m outlasts a server restart: it says so, waits, and follows the job to its end', async () => {
    const f = file('sleeper.yaml', 'suite: sleeper\ntestbox: dc\nruntime: 60\nsleeper:\n  secs: 6\n');
    const follower = startProc(['submit', f, '-m', '--timeout', '120', '--server', bare]);
    await waitFor('the job to run', async () => / running /.test(follower.output()), 30_000, 50);
    const port = Number(new URL(server.url).port);
    await server.kill('SIGTERM');
    await waitFor('the follower to notice', async () => /server unreachable, retrying/.test(follower.output()), 30_000, 50);
    server = await startFixed(port);
    const [code] = (await once(follower.child, 'exit')) as [number];
    const text = follower.output();
    assert.equal(code, 0, text);
    assert.match(text, new RegExp(`^stacklab: server unreachable, retrying \\(cannot reach the server at http://127\\.0\\.0\\.1:${port} \\(`, 'm'));
    assert.match(text, /^stacklab: the server answers again \(after \d+ s\)$/m);
    assert.match(text, /^job \d+ {2}sleeper secs=6 {2}finish\/success {2}sleeper\.slept=1$/m);
    noStack(text);
  });
});
