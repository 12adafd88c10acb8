// What every benchmark shares: percentiles, the machine line, and writing its
// own section of bench/RESULTS.md (between <!-- name:start/end --> markers).
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The p-th percentile of sorted values (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function median(values: number[]): number {
  return percentile([...values].sort((a, b) => a - b), 50);
}

/** The load average when this process started, and now: how busy the machine was around the figures. */
const loadAtStart = os.loadavg()[0]!;
export function loadNote(): string {
  return `load average ${loadAtStart.toFixed(1)} at the start, ${os.loadavg()[0]!.toFixed(1)} at the end (2 cores: above 2, other work was competing)`;
}

export function machine(): string {
  return `Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 1024 ** 3)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}.`;
}

/** Replaces (or appends) this benchmark's section of RESULTS.md. */
export function writeSection(name: string, body: string): void {
  const file = path.join(import.meta.dirname, 'RESULTS.md');
  let old = '# Benchmark results\n';
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    /* first section */
  }
  const [open, close] = [`<!-- ${name}:start -->`, `<!-- ${name}:end -->`];
  const section = `${open}\n${body.trim()}\n${close}`;
  const start = old.indexOf(open);
  const end = old.indexOf(close);
  writeFileSync(file, start >= 0 && end > start ? `${old.slice(0, start)}${section}${old.slice(end + close.length)}` : `${old.trimEnd()}\n\n${section}\n`);
}
