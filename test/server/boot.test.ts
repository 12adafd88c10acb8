// Routes of src/server/routes/boot.ts: the iPXE script a vm or hw testbox
// boots from, found by its MAC.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { body, BOX, testApp, type TestApp } from './app.ts';

describe('routes: boot', () => {
  let a: TestApp;
  before(async () => (a = await testApp()));
  after(() => a.close());

  test('an unknown MAC gets a script that says so; a bad MAC is a 400', async () => {
    const r = await a.inject({ url: '/boot.ipxe?mac=52:54:00:00:00:99' });
    assert.equal(r.statusCode, 404);
    assert.match(r.body, /^#!ipxe\n.*no testbox is registered with MAC 52:54:00:00:00:99/s);
    assert.equal((await a.inject({ url: '/boot.ipxe?mac=nonsense' })).statusCode, 400);
  });

  test("a registered box's MAC claims its next job: the script lists its job.cgz, or says there is no job", async () => {
    body(await a.inject({ method: 'POST', url: '/api/testboxes/register', payload: { ...BOX, hostname: 'vm-1', type: 'vm', mac: '52:54:00:12:34:56' } }), 200);
    const idle = await a.inject({ url: '/boot.ipxe?mac=52-54-00-12-34-56' });
    assert.equal(idle.statusCode, 200);
    assert.match(idle.body, /No job now[\s\S]*chain .*\/boot\.ipxe\?mac=52:54:00:12:34:56/);
    const [r] = body<{ job_id: number }[]>(await a.inject({ method: 'POST', url: '/api/jobs', payload: { suite: 'boot-test', testbox: 'vm-2p8g' } }), 200);
    const script = await a.inject({ url: '/boot.ipxe?mac=52:54:00:12:34:56' });
    assert.equal(script.statusCode, 200);
    assert.match(script.headers['content-type'] as string, /text\/plain/);
    assert.match(script.body, new RegExp(`^#!ipxe\\n# stacklab job ${r!.job_id} \\(boot-test\\) for vm-1`));
    assert.match(script.body, new RegExp(`initrd http://[^ ]+/job_initrd_tmpfs/${r!.job_id}/job\\.cgz`));
    // Without --trust-proxy a forged X-Forwarded-Proto/-Host changes nothing.
    const forged = await a.inject({ url: '/boot.ipxe?mac=52:54:00:12:34:56', headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' } });
    assert.doesNotMatch(forged.body, /evil\.example|https:/);
  });

  test('a box silent for longer than testbox_lost_after (it was rebooting) gets its job: asking for the script is a sign of life', async () => {
    body(await a.inject({ method: 'POST', url: '/api/testboxes/register', payload: { ...BOX, hostname: 'hw-2', type: 'hw', mac: '52:54:00:00:00:02' } }), 200);
    const lostAfter = a.server.scheduler.ctx.config.timing.testboxLostAfter;
    await new Promise((r) => setTimeout(r, lostAfter + 300));
    const [r] = body<{ job_id: number }[]>(await a.inject({ method: 'POST', url: '/api/jobs', payload: { suite: 'boot-test', testbox: 'hw-2' } }), 200);
    const script = await a.inject({ url: '/boot.ipxe?mac=52:54:00:00:00:02' });
    assert.match(script.body, new RegExp(`^#!ipxe\\n# stacklab job ${r!.job_id} \\(boot-test\\) for hw-2`), script.body);
  });

  test('behind a TLS proxy (--trust-proxy) the script names the URL the machine reached, https and all', async () => {
    const p = await testApp({}, { trustProxy: true });
    try {
      body(await p.inject({ method: 'POST', url: '/api/testboxes/register', payload: { ...BOX, hostname: 'hw-1', type: 'hw', mac: '52:54:00:00:00:01' } }), 200);
      const [r] = body<{ job_id: number }[]>(await p.inject({ method: 'POST', url: '/api/jobs', payload: { suite: 'boot-test', testbox: 'hw-1' } }), 200);
      const script = await p.inject({ url: '/boot.ipxe?mac=52:54:00:00:00:01', headers: { host: '127.0.0.1:3000', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'lab.example.com' } });
      assert.equal(script.statusCode, 200, script.body);
      assert.match(script.body, new RegExp(`initrd https://lab\\.example\\.com/job_initrd_tmpfs/${r!.job_id}/job\\.cgz`));
      assert.doesNotMatch(script.body, /127\.0\.0\.1/);
    } finally {
      await p.close();
    }
  });
});
