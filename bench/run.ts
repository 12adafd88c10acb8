// Runs every benchmark in turn, each in its own process (so one's heap and
// timers never disturb the next), passing the arguments through — e.g.
// `npm run bench -- --write` refreshes every section of bench/RESULTS.md.
// Run it on an otherwise idle machine: most figures are timings.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const benches = ['claim.ts', 'ss.ts', 'bisect-perf.ts', 'bisect-flaky.ts', 'crash.ts', 'pollers.ts'];
const args = process.argv.slice(2);
let failed = 0;
for (const b of benches) {
  process.stdout.write(`\n== bench/${b} ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [here + b, ...args], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`bench/${b} failed (exit ${r.status ?? r.signal})\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
