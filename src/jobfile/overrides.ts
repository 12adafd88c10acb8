// Command-line overrides: `key=value` and dotted `ss.linux.commit=v5.11`,
// applied to every template after the multi-document merge and before
// expansion. The value is YAML (`n=[1,2]` is a list that then expands).
import { parseFile, type LoadContext } from './load.ts';
import { issueAt, type JobFileIssue } from './errors.ts';
import { emptyMap, type LMap, type LNode, type SourcePos } from './located.ts';

export interface Override {
  path: string[];
  value: LNode;
  pos: SourcePos;
  text: string;
}

export const COMMAND_LINE = '<command line>';

export function parseOverrides(args: string[], issues: JobFileIssue[]): Override[] {
  const out: Override[] = [];
  args.forEach((arg, i) => {
    const pos = { file: COMMAND_LINE, line: 1, col: i + 1 };
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
    const docs = text.trim() === '' ? [] : parseFile(ctx, COMMAND_LINE, text, COMMAND_LINE, []);
    if (ctx.issues.length > 0) {
      issues.push(issueAt(pos, key, `bad value ${JSON.stringify(text)}: ${ctx.issues[0]!.message}`));
      return;
    }
    const relocate = (n: LNode): LNode =>
      n.kind === 'scalar'
        ? { ...n, pos }
        : n.kind === 'seq'
          ? { kind: 'seq', pos, items: n.items.map(relocate) }
          : { kind: 'map', pos, entries: new Map([...n.entries].map(([k, e]) => [k, { keyPos: pos, value: relocate(e.value) }])) };
    out.push({ path, pos, text: arg, value: docs[0] ? relocate(docs[0]) : { kind: 'scalar', pos, value: '', text: '' } });
  });
  return out;
}

/** A copy of the template with the override set; an issue if a part of the path is not a mapping. */
export function applyOverride(template: LMap, o: Override, issues: JobFileIssue[]): LMap {
  const set = (m: LMap, i: number): LMap => {
    const key = o.path[i]!;
    const entries = new Map(m.entries);
    const prev = entries.get(key);
    if (i === o.path.length - 1) {
      entries.set(key, { keyPos: o.pos, value: o.value });
    } else {
      const child = prev?.value;
      if (child && !(child.kind === 'map' || (child.kind === 'scalar' && child.value === null))) {
        issues.push(issueAt(o.pos, o.path.slice(0, i + 1).join('.'), `cannot set ${o.path.join('.')}: ${o.path.slice(0, i + 1).join('.')} is not a mapping`));
        return m;
      }
      entries.set(key, { keyPos: prev?.keyPos ?? o.pos, value: set(child?.kind === 'map' ? child : emptyMap(o.pos), i + 1) });
    }
    return { kind: 'map', pos: m.pos, entries };
  };
  return set(template, 0);
}
