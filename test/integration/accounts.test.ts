// A lab people share (issue 12), with accounts on: real server and testbox
// processes, accounts and a testbox secret made with the CLI on the lab's
// database. Each refusal is a 401 or 403 with a message that says why, and
// changes nothing; what the owners and the lab's testboxes do still works.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/tmp.ts';
import { makeLab } from '../support/lab.ts';
import { runCli, startServer, startTestbox, type Proc } from '../support/procs.ts';
import { finished } from '../support/wait.ts';
import { ApiClient, ApiError } from '../../src/api/client.ts';
import type { Job } from '../../src/api/contract.ts';
import { hostArch } from '../../src/config.ts';

describe('accounts on', () => {
  const t = tempDir();
  const data = join(t.dir, 'data');
  let server: Proc & { url: string };
  let box: Proc;
  const tokens: Record<string, string> = {};
  let secret = '';
  const as = (who?: string) => new ApiClient(server.url, { token: who ? tokens[who] : undefined });

  /** The refusal a call gets: status and code, with a message that says why. */
  async function refused(p: Promise<unknown>, status: number, code: string): Promise<string> {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof ApiError, String(err));
      assert.equal(err.status, status, err.message);
      assert.equal(err.code, code, err.message);
      assert.ok(err.message.length > 10);
      return err.message;
    }
    assert.fail(`expected ${status} ${code}`);
  }

  before(async () => {
    const lab = makeLab(join(t.dir, 'lab'), {
      policy: { accounts: true, allowed_upstreams: ['https://git.kernel.org/*'] },
      suites: { echo: { run: '#!/bin/sh\necho "value: 1"\n' } },
    });
    for (const [name, extra] of [['alice', []], ['bob', []], ['root', ['--admin']]] as const) {
      const r = await runCli(['account', 'add', name, ...extra, '--data', data, '--json']);
      assert.equal(r.code, 0, r.stderr);
      tokens[name] = (JSON.parse(r.stdout) as { token: string }).token;
    }
    const s = await runCli(['secret', 'issue', 'rack-1', '--data', data, '--json']);
    assert.equal(s.code, 0, s.stderr);
    secret = (JSON.parse(s.stdout) as { secret: string }).secret;
    server = await startServer({ data, lab });
    box = await startTestbox({ server: server.url, hostname: 'dc-1', workdir: join(t.dir, 'box'), extra: ['--secret', secret] });
  });
  after(async () => {
    await box?.kill();
    await server?.kill();
    t.cleanup();
  });

  test('account list shows who exists; tokens are not in the database', async () => {
    const r = await runCli(['account', 'list', '--data', data, '--json']);
    const rows = JSON.parse(r.stdout) as { name: string; role: string; active: boolean }[];
    assert.deepEqual(rows.map((x) => [x.name, x.role, x.active]), [['alice', 'user', true], ['bob', 'user', true], ['root', 'admin', true]]);
    const db = (await import('node:fs')).readFileSync(join(data, 'stacklab.db'));
    for (const tok of Object.values(tokens)) assert.equal(db.includes(Buffer.from(tok)), false, 'a token is kept only as its hash');
  });

  test('without a token: the read-only pages answer, the API does not, and nothing is submitted', async () => {
    assert.equal((await fetch(`${server.url}/`)).status, 200);
    assert.equal((await fetch(`${server.url}/api/health`)).status, 200);
    await refused(as().post('/api/jobs', { suite: 'echo' }), 401, 'unauthorized');
    await refused(as().get('/api/jobs'), 401, 'unauthorized');
    await refused(new ApiClient(server.url, { token: 'sla_not-a-token' }).get('/api/jobs'), 401, 'unauthorized');
    assert.equal((await as('root').get<Job[]>('/api/jobs')).length, 0);
  });

  test("a job belongs to its account: it runs on the lab's testbox; another account can neither submit as it nor cancel its job; an admin can", async () => {
    const [mine] = await as('alice').post<{ job_id: number }[]>('/api/jobs', { suite: 'echo' });
    const ran = await finished(as('alice'), mine!.job_id);
    assert.equal(ran.job_health, 'success');
    assert.equal(ran.my_account, 'alice');
    assert.equal(ran.testbox_host, 'dc-1');

    const msg = await refused(as('bob').post('/api/jobs', { suite: 'echo', my_account: 'alice' }), 403, 'forbidden');
    assert.match(msg, /bob cannot submit as my_account alice/);
    const [waiting] = await as('alice').post<{ job_id: number }[]>('/api/jobs', { suite: 'echo', testbox: 'vm-nobody' });
    assert.match(await refused(as('bob').post(`/api/jobs/${waiting!.job_id}/cancel`), 403, 'forbidden'), /belongs to alice/);
    assert.equal((await as('alice').get<Job>(`/api/jobs/${waiting!.job_id}`)).job_stage, 'submit', 'nothing changed');
    assert.equal((await as('root').post<Job>(`/api/jobs/${waiting!.job_id}/cancel`)).job_health, 'cancel');
  });

  test('a testbox may only report on, upload into and close jobs handed to it; an account token is no testbox', async () => {
    // Another box, registered with the lab's secret, holding nothing.
    const other = await as().post<{ token: string }>('/api/testboxes/register', { hostname: 'dc-2', type: 'vm', arch: hostArch(), max_memory: 4, cpus: 1, secret });
    const intruder = new ApiClient(server.url, { token: other.token });
    const [r] = await as('alice').post<{ job_id: number }[]>('/api/jobs', { suite: 'echo', testbox: 'vm-2p8g' });
    const asg = await intruder.get<{ job: { id: number }; job_token: string }>('/api/testboxes/dc-2/next', { wait: 5 });
    assert.equal(asg.job.id, r!.job_id, 'the vm box got the vm job');
    // dc-1's token cannot report on dc-2's job, whatever name it gives.
    const dc1 = readdirSync(join(t.dir, 'box')).includes('token') ? (await import('node:fs')).readFileSync(join(t.dir, 'box', 'token'), 'utf8').trim() : '';
    assert.ok(dc1.startsWith('slt_'), 'the agent keeps its own token');
    const boxClient = new ApiClient(server.url, { token: dc1 });
    await refused(boxClient.post(`/api/jobs/${r!.job_id}/close`, { testbox: 'dc-2', health: 'success' }), 403, 'forbidden');
    await refused(boxClient.post(`/api/jobs/${r!.job_id}/close`, { testbox: 'dc-1', health: 'success' }), 409, 'conflict');
    await refused(as('alice').post(`/api/jobs/${r!.job_id}/close`, { testbox: 'dc-2', health: 'success' }), 403, 'forbidden');
    assert.equal((await as('alice').get<Job>(`/api/jobs/${r!.job_id}`)).job_stage, 'boot', 'nothing changed');
    // The job's own token (what runs in the guest) reports on that job only.
    const guest = new ApiClient(server.url, { token: asg.job_token });
    await guest.post(`/api/jobs/${r!.job_id}/stage`, { testbox: 'dc-2', stage: 'running' });
    await refused(guest.get('/api/jobs'), 403, 'forbidden');
    await guest.post(`/api/jobs/${r!.job_id}/close`, { testbox: 'dc-2', health: 'success' });
    assert.equal((await as('alice').get<Job>(`/api/jobs/${r!.job_id}`)).job_health, 'success');
    // Its token ends with the job: refused (409 while the server still trusts the token it looked up, then 401).
    await assert.rejects(guest.post(`/api/jobs/${r!.job_id}/stage`, { testbox: 'dc-2', stage: 'post_run' }), (err: unknown) => err instanceof ApiError && [401, 409].includes(err.status));
  });

  test('a live testbox cannot be registered again by another; no secret, no registration', async () => {
    const box = { hostname: 'dc-1', type: 'dc', arch: hostArch(), max_memory: 8, cpus: 2 };
    assert.match(await refused(as().post('/api/testboxes/register', { ...box, secret }), 409, 'conflict'), /dc-1 is live/);
    await refused(as().post('/api/testboxes/register', { ...box, hostname: 'dc-9' }), 401, 'unauthorized');
    await refused(as().post('/api/testboxes/register', { ...box, hostname: 'dc-9', secret: 'sls_wrong' }), 401, 'unauthorized');
    // dc-1 still works: a job runs on it.
    const [r] = await as('bob').post<{ job_id: number }[]>('/api/jobs', { suite: 'echo' });
    assert.equal((await finished(as('bob'), r!.job_id)).testbox_host, 'dc-1');
  });

  test("an upstream the lab does not allow is refused before the server fetches anything", async () => {
    const before = existsSync(join(data, 'git')) ? readdirSync(join(data, 'git')).length : 0;
    const job = { suite: 'echo', ss: { linux: { _upstream_url: 'http://169.254.169.254/latest/meta-data.git', commit: 'v1' } } };
    const msg = await refused(as('alice').post('/api/jobs', job), 403, 'forbidden');
    assert.match(msg, /is not an upstream this lab lets alice name/);
    assert.doesNotMatch(msg, /meta-data\b.*:/, 'nothing of an answer is echoed');
    const after = existsSync(join(data, 'git')) ? readdirSync(join(data, 'git')).length : 0;
    assert.equal(after, before, 'no mirror was made');
  });

  test('a revoked token stops working', async () => {
    const r = await runCli(['account', 'revoke', 'bob', '--data', data]);
    assert.equal(r.code, 0, r.stderr);
    await new Promise((res) => setTimeout(res, 2100)); // the server trusts a token it looked up for 2 s
    await refused(as('bob').get('/api/jobs'), 401, 'unauthorized');
  });
});
