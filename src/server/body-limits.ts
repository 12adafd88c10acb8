// Bounds checked on a request body before it is parsed, so no body can make
// the parser (or what walks its result) run for long or deep: JSON nesting
// and key count, YAML mapping entries. One linear scan over the text.
import type { FastifyInstance } from 'fastify';
import { UserError } from '../errors.ts';

export const MAX_DEPTH = 64;
export const MAX_JSON_KEYS = 200_000;
export const MAX_YAML_KEYS = 10_000;

/** Nesting depth and object keys of a JSON text, counted without parsing it (strings skipped). */
export function jsonShape(text: string): { depth: number; keys: number } {
  let depth = 0;
  let max = 0;
  let keys = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > max) max = depth;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
    else if (c === 0x3a /* : */) keys++;
  }
  return { depth: max, keys };
}

/** Mapping entries of a YAML text, an upper bound: every `key:` at a line's start or after `{`/`,` counts. */
export function yamlKeys(text: string): number {
  let n = 0;
  const re = /:(?=\s|$)/g;
  while (re.exec(text) !== null) n++;
  return n;
}

export function checkJsonText(text: string): void {
  const s = jsonShape(text);
  if (s.depth > MAX_DEPTH) throw new UserError('invalid_request', `the body nests ${s.depth} deep; at most ${MAX_DEPTH} is taken`, { depth: s.depth });
  if (s.keys > MAX_JSON_KEYS) throw new UserError('too_large', `the body has ${s.keys} keys; at most ${MAX_JSON_KEYS} are taken`, { keys: s.keys }, 413);
}

export function checkYamlText(text: string): void {
  const n = yamlKeys(text);
  if (n > MAX_YAML_KEYS) throw new UserError('too_large', `the YAML body has about ${n} keys; at most ${MAX_YAML_KEYS} are taken (split the file)`, { keys: n }, 413);
}

/** JSON bodies through the scan, then JSON.parse (a body of only whitespace is an empty one). */
export function installJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === '') return done(null, undefined);
    try {
      checkJsonText(text);
      done(null, JSON.parse(text, (k, v: unknown) => (k === '__proto__' ? undefined : v)));
    } catch (err) {
      if (err instanceof UserError) return done(err, undefined);
      done(new UserError('invalid_request', `the body is not JSON: ${(err as Error).message}`), undefined);
    }
  });
}
