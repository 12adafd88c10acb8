// Stats from a run's output (SPEC §3): `key: number` lines become
// {"<suite>.<key>": number}. Other lines are ignored; a key seen twice keeps
// its last value (a suite may print a running figure and then the final one).

const LINE = /^\s*([A-Za-z0-9_][A-Za-z0-9_.+-]*)\s*:\s*(\S+)\s*$/;

export function parseStats(text: string, suite: string): Record<string, number> {
  const stats: Record<string, number> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = LINE.exec(line);
    if (!m) continue;
    const raw = m[2]!;
    // Number('') and Number('0x10') are numbers to JS but not stats to people: require a decimal form.
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw)) continue;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    const key = m[1]!.startsWith(`${suite}.`) ? m[1]! : `${suite}.${m[1]}`;
    stats[key] = value;
  }
  return stats;
}
