// lab.yaml's health_check: a job file inside the lab, or the lab is refused
// at start with the file and what the key must be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { Lab } from '../../src/lab.ts';
import { makeLab } from '../support/lab.ts';
import { tempDir } from '../support/tmp.ts';

test('health_check is a path inside the lab; anything else is refused with the file named', () => {
  const t = tempDir();
  try {
    const dir = makeLab(join(t.dir, 'lab'), {});
    const withPolicy = (value: unknown): Lab => {
      writeFileSync(join(dir, 'lab.yaml'), stringify({ health_check: value }));
      return new Lab(dir);
    };
    assert.equal(withPolicy('jobs/health.yaml').policy.health_check, 'jobs/health.yaml');
    for (const bad of ['/etc/passwd', '../elsewhere.yaml', 'jobs/../../x.yaml', '', 7, ['a.yaml']]) {
      assert.throws(() => withPolicy(bad), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'bad_lab');
        assert.match(err.message, /lab\.yaml: health_check must be a job file inside the lab/);
        return true;
      }, JSON.stringify(bad));
    }
    writeFileSync(join(dir, 'lab.yaml'), '{}\n');
    assert.equal(new Lab(dir).policy.health_check, undefined);
  } finally {
    t.cleanup();
  }
});
