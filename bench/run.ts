// Runs every benchmark in turn, each in its own process (so one's heap and
// timers never disturb the next), passing the arguments through — e.g.
// `npm run bench -- --write` refreshes every section of bench/RESULTS.md;
// `npm run bench -- ss claim --write` runs only those (or `node bench/ss.ts`).
// The timing figures are ratios to floors measured in the same run (see
// bench/floor.ts), so a busy machine moves them less than absolute times.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const all = ['claim.ts', 'ss.ts', 'bisect-perf.ts', 'bisect-flaky.ts', 'crash.ts', 'pollers.ts'];
const argv = process.argv.slice(2);
// Leading bare names pick benchmarks; the rest is passed through.
const picked = argv.filter((a, i) => !a.startsWith('-') && argv.slice(0, i).every((b) => !b.startsWith('-')));
const args = argv.slice(picked.length);
const unknown = picked.filter((p) => !all.includes(`${p.replace(/\.ts$/, '')}.ts`));
if (unknown.length > 0) {
  process.stderr.write(`no benchmark ${unknown.join(', ')} (there are ${all.map((b) => b.replace(/\.ts$/, '')).join(', ')})\n`);
  process.exit(2);
}
let failed = 0;
const benches = picked.length > 0 ? picked.map((p) => `${p.replace(/\.ts$/, '')}.ts`) : all;
for (const b of benches) {
  process.stdout.write(`\n== bench/${b} ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [here + b, ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`bench/${b} failed (exit ${r.status ?? r.signal})\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
