// The README's install line and CI's are the same packages: CI installs
// exactly what a user is told to (chromium for the browser test included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..', '..');

function packages(text: string, where: string): string[] {
  const line = text.split('\n').find((l) => /apt-get install -y/.test(l));
  assert.ok(line, `${where} has an apt-get install line`);
  const words = line.replace(/>.*$/, '').trim().split(/\s+/);
  return words.slice(words.indexOf('install') + 1).filter((w) => !w.startsWith('-')).sort();
}

test('README and .ci/run install the same system packages', () => {
  const readme = packages(readFileSync(join(ROOT, 'README.md'), 'utf8'), 'README.md');
  const ci = packages(readFileSync(join(ROOT, '.ci', 'run'), 'utf8'), '.ci/run');
  assert.deepEqual(ci, readme);
  assert.ok(readme.includes('chromium'));
});
