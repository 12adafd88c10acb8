// Dispatch rules: which dispatchable job a testbox gets (SPEC §6).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { eligible, pickJob, type BoxView, type JobView } from '../../../src/model/match.ts';
import { tboxType } from '../../../src/model/lifecycle.ts';

const box: BoxView = { type: 'dc', arch: 'x86_64', freeMemory: 8 };
let nextId = 1;
const job = (over: Partial<JobView> = {}): JobView => ({ id: nextId++, account: 'alice', tbox_type: 'dc', arch: 'x86_64', memory_minimum: 1, priority: 0, ...over });

describe('testbox group type', () => {
  for (const [group, type] of [['dc', 'dc'], ['dc-32g', 'dc'], ['vm-2p8g', 'vm'], ['taishan200-2280-2s64p-256g', 'hw'], ['lkp-skl-d01', 'hw']] as const) {
    test(`${group} is ${type}`, () => assert.equal(tboxType(group), type));
  }
});

describe('eligibility', () => {
  const cases: [string, Partial<JobView>, BoxView, boolean][] = [
    ['same type, arch, fits', {}, box, true],
    ['other type', { tbox_type: 'vm' }, box, false],
    ['other arch', { arch: 'aarch64' }, box, false],
    ['needs more memory than free', { memory_minimum: 9 }, box, false],
    ['needs exactly the free memory', { memory_minimum: 8 }, box, true],
    ['box with no free memory', { memory_minimum: 0.5 }, { ...box, freeMemory: 0 }, false],
  ];
  for (const [name, over, b, want] of cases) test(name, () => assert.equal(eligible(job(over), b), want));
});

describe('pick', () => {
  test('nothing eligible → undefined', () => {
    assert.equal(pickJob([job({ arch: 'riscv64' })], box, new Map()), undefined);
  });

  test('highest priority first, whatever the age', () => {
    const old = job({ priority: 0 });
    const urgent = job({ priority: 5 });
    assert.equal(pickJob([old, urgent], box, new Map())?.id, urgent.id);
  });

  test('oldest first at equal priority', () => {
    const a = job();
    const b = job();
    assert.equal(pickJob([b, a], box, new Map())?.id, a.id);
  });

  test('a job too big for the box is passed over for a smaller one behind it', () => {
    const big = job({ memory_minimum: 16 });
    const small = job({ memory_minimum: 2 });
    assert.equal(pickJob([big, small], box, new Map())?.id, small.id);
  });

  test('fair across accounts: the account with fewer running jobs goes first', () => {
    const aliceJobs = Array.from({ length: 100 }, () => job({ account: 'alice' }));
    const bob = job({ account: 'bob' });
    // alice submitted first and already runs 2 jobs; bob's one job must not wait behind her 100.
    assert.equal(pickJob([...aliceJobs, bob], box, new Map([['alice', 2]]))?.id, bob.id);
  });

  test('fairness never overrides priority', () => {
    const alice = job({ account: 'alice', priority: 3 });
    const bob = job({ account: 'bob', priority: 1 });
    assert.equal(pickJob([alice, bob], box, new Map([['alice', 10]]))?.id, alice.id);
  });

  test('equal shares: the oldest job wins', () => {
    const bob = job({ account: 'bob' });
    const alice = job({ account: 'alice' });
    assert.equal(pickJob([alice, bob], box, new Map([['alice', 1], ['bob', 1]]))?.id, bob.id);
  });

  test('round robin: repeated picks alternate between two busy accounts', () => {
    const jobs = [...Array.from({ length: 4 }, () => job({ account: 'alice' })), ...Array.from({ length: 4 }, () => job({ account: 'bob' }))];
    const active = new Map<string, number>();
    const order: string[] = [];
    let left = [...jobs];
    for (let i = 0; i < 6; i++) {
      const p = pickJob(left, { ...box, freeMemory: 100 }, active)!;
      order.push(p.account);
      active.set(p.account, (active.get(p.account) ?? 0) + 1);
      left = left.filter((j) => j.id !== p.id);
    }
    assert.deepEqual(order, ['alice', 'bob', 'alice', 'bob', 'alice', 'bob']);
  });
});
