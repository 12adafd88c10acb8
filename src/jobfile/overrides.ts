// What the command line adds to a job file, as lkp's split-job and
// compass-ci's submit add it: `key=value` (dotted `ss.linux.commit=v5.11`
// reaches inside; the value is YAML, so `n=[1,2]` is a list that then
// expands), `-s 'key: value'` YAML snippets, and whole files (`-i`, `-c`).
// Each becomes a mapping merged the lkp way (merge.ts) over or under the
// job.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseFile, shownName, type LoadContext } from './load.ts';
import { issueAt, type JobFileIssue } from './errors.ts';
import { emptyMap, type LMap, type LNode, type SourcePos } from './located.ts';

export interface Override {
  path: string[];
  value: LNode;
  pos: SourcePos;
  text: string;
}

export const COMMAND_LINE = '<command line>';

function relocate(n: LNode, pos: SourcePos): LNode {
  if (n.kind === 'scalar') return { ...n, pos };
  if (n.kind === 'seq') return { kind: 'seq', pos, items: n.items.map((i) => relocate(i, pos)) };
  return { kind: 'map', pos, entries: new Map([...n.entries].map(([k, e]) => [k, { keyPos: pos, value: relocate(e.value, pos) }])) };
}

export function parseOverrides(args: string[], issues: JobFileIssue[], firstCol = 1): Override[] {
  const out: Override[] = [];
  args.forEach((arg, i) => {
    const pos = { file: COMMAND_LINE, line: 1, col: firstCol + i };
    const eq = arg.indexOf('=');
    const key = eq < 0 ? '' : arg.slice(0, eq);
    const path = key.split('.');
    if (eq <= 0 || path.some((p) => p === '')) {
      issues.push(issueAt(pos, key, `override ${JSON.stringify(arg)} must be key=value (dotted keys reach inside: ss.linux.commit=v5.11)`));
      return;
    }
    const ctx: LoadContext = { includeRoot: null, issues: [] };
    // A flow value on a line of its own: `[1, 2]`, `v5.11`, `1234e56`, `"quoted"`.
    const text = arg.slice(eq + 1);
    const docs = text.trim() === '' ? [] : parseFile(ctx, COMMAND_LINE, text, COMMAND_LINE);
    if (ctx.issues.length > 0) {
      issues.push(issueAt(pos, key, `bad value ${JSON.stringify(text)}: ${ctx.issues[0]!.message}`));
      return;
    }
    out.push({ path, pos, text: arg, value: docs[0] ? relocate(docs[0], pos) : { kind: 'scalar', pos, value: '', text: '' } });
  });
  return out;
}

/** Overrides as one mapping of (dotted) keys, later ones winning, as lkp merges its -s and k=v. */
export function overridesMap(list: Override[]): LMap {
  const m = emptyMap({ file: COMMAND_LINE, line: 1, col: 1 });
  for (const o of list) m.entries.set(o.path.join('.'), { keyPos: o.pos, value: o.value });
  return m;
}

/** A layer of a submit: a YAML file, a YAML snippet (`-s`), or key=value arguments. */
export type Layer = { file: string } | { yaml: string; name?: string } | { assign: string[] };

/** A layer as one mapping; issues name where it was written. */
export function readLayer(layer: Layer, issues: JobFileIssue[], searchPath: string[] = []): LMap | undefined {
  if ('assign' in layer) return overridesMap(parseOverrides(layer.assign, issues));
  let text: string;
  let name: string;
  let full: string;
  if ('file' in layer) {
    full = resolve(layer.file);
    name = shownName(full);
    try {
      text = readFileSync(full, 'utf8');
    } catch (err) {
      issues.push(issueAt({ file: layer.file, line: 0, col: 0 }, '', `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
      return undefined;
    }
  } else {
    name = layer.name ?? COMMAND_LINE;
    full = resolve(name);
    text = layer.yaml;
  }
  const ctx: LoadContext = { includeRoot: 'file' in layer ? '/' : null, searchPath, issues };
  const docs = parseFile(ctx, full, text, name);
  const maps: LMap[] = [];
  for (const d of docs) {
    if (d.kind === 'map') maps.push(d);
    else if (!(d.kind === 'scalar' && d.value === null)) issues.push(issueAt(d.pos, '', `expected a mapping of keys to values, got ${d.kind === 'seq' ? 'a list' : 'a value'}`));
  }
  if (maps.length === 0) return emptyMap({ file: name, line: 1, col: 1 });
  const out = emptyMap(maps[0]!.pos);
  for (const m of maps) for (const [k, e] of m.entries) out.entries.set(k, e);
  return out;
}
