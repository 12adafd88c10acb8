// YAML text to located trees: one per document, with `<<: file` includes
// merged in place (keys written beside the include win) and standard
// `<<: *alias` merge keys. Positions come from the yaml library's ranges.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YNode } from 'yaml';
import { issueAt, type JobFileIssue } from './errors.ts';
import { deepMerge, emptyMap, type LMap, type LNode, type SourcePos } from './located.ts';

export interface LoadContext {
  /** Includes must resolve inside this directory; null refuses every include. */
  includeRoot: string | null;
  issues: JobFileIssue[];
  /** Values made so far: capped, so a few lines of aliases cannot expand to millions. */
  made?: number;
}

export const MAX_VALUES = 100_000;

interface FileState {
  file: string;
  /** The file's name as issues show it. */
  shown: string;
  lc: LineCounter;
  doc: Document.Parsed;
  /** Files being included, outermost first (cycle detection). */
  chain: string[];
}

/** A file as issues name it: relative to the working directory when it is inside it, else absolute. */
export function shownName(full: string): string {
  const rel = relative(process.cwd(), full);
  return rel === '' || rel.startsWith('..') ? full : rel;
}

const posOf = (s: FileState, offset: number | undefined): SourcePos => {
  const lp = s.lc.linePos(offset ?? 0);
  return { file: s.shown, line: lp.line, col: lp.col };
};

function convert(ctx: LoadContext, s: FileState, node: YNode | null | undefined, fallback: SourcePos): LNode {
  if (node == null) return { kind: 'scalar', pos: fallback, value: null, text: null };
  const pos = posOf(s, node.range?.[0]);
  ctx.made = (ctx.made ?? 0) + 1;
  if (ctx.made === MAX_VALUES + 1) ctx.issues.push(issueAt(pos, '', `the file expands to more than ${MAX_VALUES} values (aliases?)`));
  if (ctx.made > MAX_VALUES) return { kind: 'scalar', pos, value: null, text: null };
  if (isAlias(node)) {
    const target = node.resolve(s.doc);
    return convert(ctx, s, (target ?? null) as YNode | null, pos);
  }
  if (isScalar(node)) {
    const v = node.value;
    const value = v === undefined ? null : typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null ? v : String(v);
    return { kind: 'scalar', pos, value, text: node.type === 'PLAIN' && typeof node.source === 'string' ? node.source : null };
  }
  if (isSeq(node)) return { kind: 'seq', pos, items: node.items.map((it) => convert(ctx, s, it as YNode, pos)) };
  if (isMap(node)) {
    const own: LMap = emptyMap(pos);
    let base: LNode | undefined;
    for (const pair of node.items) {
      const keyNode = pair.key as YNode | null;
      const keyPos = posOf(s, keyNode?.range?.[0] ?? node.range?.[0]);
      const key = isScalar(keyNode) ? String(keyNode.value) : null;
      if (key === null) {
        ctx.issues.push(issueAt(keyPos, '', 'keys must be plain names'));
        continue;
      }
      if (key === '<<') {
        const merged = mergeSource(ctx, s, pair.value as YNode | null, keyPos);
        if (merged) base = base ? deepMerge(base, merged) : merged;
        continue;
      }
      own.entries.set(key, { keyPos, value: convert(ctx, s, pair.value as YNode | null, keyPos) });
    }
    return base ? deepMerge(base, own) : own;
  }
  return { kind: 'scalar', pos, value: null, text: null };
}

/** What a `<<` key merges: included file(s) by path, or aliased maps. */
function mergeSource(ctx: LoadContext, s: FileState, value: YNode | null, keyPos: SourcePos): LNode | undefined {
  const items = isSeq(value) ? (value.items as YNode[]) : value ? [value] : [];
  let out: LNode | undefined;
  for (const item of items) {
    let part: LNode | undefined;
    if (isScalar(item) && typeof item.value === 'string') part = include(ctx, s, item.value, posOf(s, item.range?.[0]));
    else if (isAlias(item) || isMap(item)) part = convert(ctx, s, item, keyPos);
    else ctx.issues.push(issueAt(posOf(s, item.range?.[0]), '<<', 'expected a file to include or an alias of a mapping'));
    if (part && part.kind !== 'map') {
      ctx.issues.push(issueAt(part.pos, '<<', 'what is merged must be a mapping'));
      part = undefined;
    }
    if (part) out = out ? deepMerge(out, part) : part;
  }
  return out;
}

function include(ctx: LoadContext, s: FileState, path: string, at: SourcePos): LNode | undefined {
  if (ctx.includeRoot === null) {
    ctx.issues.push(issueAt(at, '<<', 'includes are not allowed here'));
    return undefined;
  }
  const target = resolve(dirname(s.file), path);
  const root = resolve(ctx.includeRoot);
  if (target !== root && !target.startsWith(root.endsWith(sep) ? root : root + sep)) {
    ctx.issues.push(issueAt(at, '<<', `${path} is outside ${root}`));
    return undefined;
  }
  if (s.chain.includes(target)) {
    const cycle = [...s.chain.slice(s.chain.indexOf(target)), target].map(shownName).join(' -> ');
    ctx.issues.push(issueAt(at, '<<', `include cycle: ${cycle}`));
    return undefined;
  }
  if (!existsSync(target) || !statSync(target).isFile()) {
    ctx.issues.push(issueAt(at, '<<', `cannot include ${path}: no such file`));
    return undefined;
  }
  const docs = parseFile(ctx, target, readFileSync(target, 'utf8'), shownName(target), [...s.chain, target]);
  if (docs.length > 1) ctx.issues.push(issueAt(at, '<<', `${path} has ${docs.length} documents; an include must have one`));
  return docs[0] ?? emptyMap(at);
}

/** Every non-empty document of a text, as located trees; syntax errors become issues. */
export function parseFile(ctx: LoadContext, file: string, text: string, shown: string, chain: string[]): LNode[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, merge: false, uniqueKeys: true, prettyErrors: false });
  const out: LNode[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const s: FileState = { file, shown, lc, doc: doc as Document.Parsed, chain };
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const lp = lc.linePos(e.pos[0]);
        ctx.issues.push({ file: shown, line: lp.line, col: lp.col, path: '', message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '') });
      }
      continue;
    }
    const c = doc.contents as YNode | null;
    if (c == null || (isScalar(c) && (c.value === null || c.value === undefined) && !c.source)) continue;
    out.push(convert(ctx, s, c, { file: shown, line: 1, col: 1 }));
  }
  return out;
}
