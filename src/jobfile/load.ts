// YAML text to located trees, one per document, read as lkp's Ruby reads it:
// includes and templates first (text.ts), then YAML 1.1 scalars (psych.ts),
// a key written twice keeps its first place and its last value, and a
// `<<: *alias` merge takes effect where it is written. Positions come from
// the yaml library's ranges, mapped back through the includes.
import { relative } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YNode } from 'yaml';
import { issueAt, type JobFileIssue } from './errors.ts';
import { emptyMap, type LMap, type LNode, type SourcePos } from './located.ts';
import type { Mapped } from './mapped.ts';
import { jsonOf, readPlain, rubyFloat } from './psych.ts';
import { assemble } from './text.ts';

export interface LoadContext {
  /** Includes must resolve inside this directory (or the search path); null refuses every include. */
  includeRoot: string | null;
  /** Directories searched for includes after the including file's own. */
  searchPath?: string[];
  issues: JobFileIssue[];
  /** Things lkp accepts that are probably mistakes; errors under strict. */
  warnings?: JobFileIssue[];
  /** Values made so far: capped, so a few lines of aliases cannot expand to millions. */
  made?: number;
  /** The collections being converted now (an alias to one of them is a cycle), and how deep. */
  open?: Set<YNode>;
}

/** How deep a job's values may nest (lkp's have a few levels; the parser's stack must hold). */
export const MAX_NESTING = 64;

export const MAX_VALUES = 100_000;

interface DocState {
  m: Mapped;
  doc: Document.Parsed;
}

/** A file as issues name it: relative to the working directory when it is inside it, else absolute. */
export function shownName(full: string): string {
  const rel = relative(process.cwd(), full);
  return rel === '' || rel.startsWith('..') ? full : rel;
}

const posOf = (s: DocState, offset: number | undefined): SourcePos => s.m.posAt(offset ?? 0);

const CORE_TAGS = new Set(['tag:yaml.org,2002:str', 'tag:yaml.org,2002:int', 'tag:yaml.org,2002:float', 'tag:yaml.org,2002:bool', 'tag:yaml.org,2002:null', 'tag:yaml.org,2002:map', 'tag:yaml.org,2002:seq']);

function scalarOf(ctx: LoadContext, node: YNode & { source?: unknown; type?: string; tag?: string }, pos: SourcePos): LNode {
  const source = typeof node.source === 'string' ? node.source : String((node as { value?: unknown }).value ?? '');
  const plain = node.type === 'PLAIN';
  if (node.tag && !CORE_TAGS.has(node.tag)) {
    ctx.issues.push(issueAt(pos, '', `the tag ${node.tag} makes a Ruby object; a job holds plain values`));
    return { kind: 'scalar', pos, value: null, text: null };
  }
  if (node.tag === 'tag:yaml.org,2002:str' || !plain) return { kind: 'scalar', pos, value: String((node as { value?: unknown }).value ?? ''), text: plain ? source : null };
  const r = readPlain(source);
  if (node.tag === 'tag:yaml.org,2002:null') return { kind: 'scalar', pos, value: null, text: source };
  return { kind: 'scalar', pos, value: jsonOf(r, source), text: source };
}

/** A key as Ruby's hash holds it, written as JSON writes a key (yes: is "true", 010: is "8"). */
function keyOf(node: YNode): string | null {
  if (!isScalar(node)) return null;
  const source = typeof node.source === 'string' ? node.source : String(node.value ?? '');
  if (node.type !== 'PLAIN' || node.tag === 'tag:yaml.org,2002:str') return String(node.value ?? '');
  const r = readPlain(source);
  switch (r.type) {
    case 'null':
      return '';
    case 'bool':
      return String(r.value);
    case 'int':
      return r.value.toString();
    case 'float':
      return rubyFloat(r.value);
    case 'string':
      return r.value;
    case 'other':
      return source;
  }
}

function mergeInto(own: LMap, from: LNode): boolean {
  if (from.kind !== 'map') return false;
  for (const [k, e] of from.entries) own.entries.set(k, e);
  return true;
}

function convert(ctx: LoadContext, s: DocState, node: YNode | null | undefined, fallback: SourcePos): LNode {
  if (node == null) return { kind: 'scalar', pos: fallback, value: null, text: null };
  const pos = posOf(s, node.range?.[0]);
  ctx.made = (ctx.made ?? 0) + 1;
  if (ctx.made === MAX_VALUES + 1) ctx.issues.push(issueAt(pos, '', `the file expands to more than ${MAX_VALUES} values (aliases?)`));
  if (ctx.made > MAX_VALUES) return { kind: 'scalar', pos, value: null, text: null };
  if (isAlias(node)) {
    const target = node.resolve(s.doc);
    if (!target) ctx.issues.push(issueAt(pos, '', `unknown alias *${node.source}`));
    if (target && ctx.open?.has(target as YNode)) {
      ctx.issues.push(issueAt(pos, '', `the alias *${node.source} refers to a value that holds it (a cycle)`));
      return { kind: 'scalar', pos, value: null, text: null };
    }
    return convert(ctx, s, (target ?? null) as YNode | null, pos);
  }
  if (isSeq(node) || isMap(node)) {
    const open = (ctx.open ??= new Set());
    if (open.size >= MAX_NESTING) {
      ctx.issues.push(issueAt(pos, '', `values nest more than ${MAX_NESTING} deep`));
      return { kind: 'scalar', pos, value: null, text: null };
    }
    open.add(node);
    try {
      return convertCollection(ctx, s, node, pos);
    } finally {
      open.delete(node);
    }
  }
  if (isScalar(node)) return scalarOf(ctx, node, pos);
  return { kind: 'scalar', pos, value: null, text: null };
}

function convertCollection(ctx: LoadContext, s: DocState, node: YNode, pos: SourcePos): LNode {
  const tag = (node as { tag?: string }).tag;
  if (tag && !CORE_TAGS.has(tag)) {
    ctx.issues.push(issueAt(pos, '', `the tag ${tag} makes a Ruby object; a job holds plain values`));
    return { kind: 'scalar', pos, value: null, text: null };
  }
  if (isSeq(node)) return { kind: 'seq', pos, items: node.items.map((it) => convert(ctx, s, it as YNode, pos)) };
  if (isMap(node)) {
    const own: LMap = emptyMap(pos);
    for (const pair of node.items) {
      const keyNode = pair.key as YNode | null;
      const keyPos = posOf(s, keyNode?.range?.[0] ?? node.range?.[0]);
      const key = keyNode ? keyOf(keyNode) : '';
      if (key === null) {
        ctx.issues.push(issueAt(keyPos, '', 'keys must be plain names'));
        continue;
      }
      const valueNode = pair.value as YNode | null;
      if (key === '<<' && (isAlias(valueNode) || isMap(valueNode) || isSeq(valueNode))) {
        // Psych's merge: where it is written, later keys override it; in a list the first mapping wins.
        const v = convert(ctx, s, valueNode, keyPos);
        const parts = v.kind === 'seq' ? [...v.items].reverse() : [v];
        const merged = emptyMap(keyPos);
        if (!parts.every((p) => mergeInto(merged, p))) ctx.issues.push(issueAt(keyPos, '<<', 'what is merged must be a mapping (or a list of them)'));
        else mergeInto(own, merged);
        continue;
      }
      if (key === '<<') {
        ctx.issues.push(issueAt(keyPos, '<<', 'expected a file to include or an alias of a mapping'));
        continue;
      }
      const prev = own.entries.get(key);
      if (prev && prev.keyPos.file === keyPos.file && prev.keyPos.line !== keyPos.line) {
        // lkp (Ruby) keeps the key's first place and its last value; twice in one file is likely a slip.
        ctx.warnings?.push(issueAt(keyPos, key, `written twice in this mapping (first at line ${prev.keyPos.line}); the later value wins, as in lkp`));
      }
      own.entries.set(key, { keyPos: prev?.keyPos ?? keyPos, value: convert(ctx, s, valueNode, keyPos) });
    }
    return own;
  }
  return { kind: 'scalar', pos, value: null, text: null };
}

/**
 * Every document of a text, as located trees; an empty document is a null
 * scalar (lkp merges it over document 0 like any other). Syntax errors
 * become issues.
 */
export function parseFile(ctx: LoadContext, file: string, text: string, shown: string, _chain: string[] = []): LNode[] {
  const m = assemble({ includeRoot: ctx.includeRoot, searchPath: ctx.searchPath ?? [], issues: ctx.issues, shown: shownName }, text, file, shown);
  if (ctx.issues.length > 0) return [];
  const lc = new LineCounter();
  const docs = parseAllDocuments(m.text, { lineCounter: lc, schema: 'failsafe', merge: false, uniqueKeys: false, prettyErrors: false });
  const out: LNode[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const s: DocState = { m, doc: doc as Document.Parsed };
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const issue = { ...m.posAt(e.pos[0]), path: '', message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '') };
        // The same error can end two documents: say it once.
        if (!ctx.issues.some((i) => i.file === issue.file && i.line === issue.line && i.col === issue.col && i.message === issue.message)) ctx.issues.push(issue);
      }
      continue;
    }
    let c = doc.contents as YNode | null;
    if (isScalar(c) && c.type === 'PLAIN' && (c.source ?? '') === '' && !c.tag) c = null;
    const start = doc.range?.[0] ?? 0;
    // An empty document is named by its line (after its --- marker).
    out.push(convert(ctx, s, c, { ...m.posAt(start), col: 1 }));
  }
  return out;
}
