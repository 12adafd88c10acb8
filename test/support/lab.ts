// Labs made by tests: lab.yaml policy and suites written as real executables.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';

export interface SuiteDef {
  run: string;
  parse?: string;
}

export interface LabDef {
  policy?: Record<string, unknown>;
  suites?: Record<string, SuiteDef>;
  /** Any other lab file by relative path (upstreams/…, recipes/…, configs/…). */
  files?: Record<string, string>;
}

/** Fast timings so deadline and lost-testbox tests finish in seconds. */
export const FAST_POLICY = {
  heartbeat_interval: 0.3,
  testbox_lost_after: 1.5,
  sweep_interval: 0.2,
  boot_timeout: 10,
  running_grace: 1,
  post_run_timeout: 10,
};

export function makeLab(dir: string, def: LabDef): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'lab.yaml'), stringify({ ...FAST_POLICY, ...(def.policy ?? {}) }));
  for (const [name, suite] of Object.entries(def.suites ?? {})) {
    const sdir = join(dir, 'suites', name);
    mkdirSync(sdir, { recursive: true });
    writeFileSync(join(sdir, 'run'), suite.run);
    chmodSync(join(sdir, 'run'), 0o755);
    if (suite.parse) {
      writeFileSync(join(sdir, 'parse'), suite.parse);
      chmodSync(join(sdir, 'parse'), 0o755);
    }
  }
  for (const [rel, content] of Object.entries(def.files ?? {})) {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
  return dir;
}
