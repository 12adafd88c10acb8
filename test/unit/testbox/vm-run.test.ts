// The server as a vm guest reaches it: loopback on the host is 10.0.2.2
// under qemu's user-mode network; any other host is reached as it is named;
// https is refused with a reason (the guest's busybox wget speaks no TLS).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { guestServerUrl } from '../../../src/testbox/vm-run.ts';

test('a loopback server is 10.0.2.2 to the guest, on the same port', () => {
  assert.equal(guestServerUrl('http://127.0.0.1:3000'), 'http://10.0.2.2:3000');
  assert.equal(guestServerUrl('http://localhost:41234/'), 'http://10.0.2.2:41234');
  assert.equal(guestServerUrl('http://[::1]:8080'), 'http://10.0.2.2:8080');
});

test('a server elsewhere is reached by its name', () => {
  assert.equal(guestServerUrl('http://lab.example.com:3000'), 'http://lab.example.com:3000');
  assert.equal(guestServerUrl('http://192.168.1.5'), 'http://192.168.1.5');
});

test('https cannot be reached from inside, and says why', () => {
  assert.throws(() => guestServerUrl('https://lab.example.com'), /plain http \(busybox wget\)/);
});
