// Which output lines become stats, and under which names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseStats } from '../../../src/model/stats.ts';

const cases: [string, string, Record<string, number>][] = [
  ['a plain stat', 'iops: 1234', { 's.iops': 1234 }],
  ['spaces around', '   latency_ms :  12.5  ', { 's.latency_ms': 12.5 }],
  ['negative and exponent', 'delta: -3\nrate: 1.5e6\nsmall: 2E-3', { 's.delta': -3, 's.rate': 1_500_000, 's.small': 0.002 }],
  ['already prefixed with the suite', 's.throughput: 7', { 's.throughput': 7 }],
  ['another suite’s prefix is kept as part of the key', 'other.x: 1', { 's.other.x': 1 }],
  ['text values are not stats', 'kernel: 6.1.0-13-amd64\nstatus: ok\nhex: 0x10\nempty:', {}],
  ['prose with a colon is not a stat', 'Note: took 3 s', {}],
  ['the last of a repeated key wins', 'ops: 1\nops: 2\nops: 3', { 's.ops': 3 }],
  ['infinity and NaN are not numbers here', 'a: Infinity\nb: NaN', {}],
  ['CRLF line ends', 'a: 1\r\nb: 2\r\n', { 's.a': 1, 's.b': 2 }],
  ['keys with dots, dashes and plus', 'cpu.user-time+: 4', { 's.cpu.user-time+': 4 }],
];

for (const [name, text, want] of cases) {
  test(name, () => assert.deepEqual(parseStats(text, 's'), want));
}
