// A streaming reader of tar archives (ustar, GNU long names, pax headers):
// just enough to turn Debian's linux-source tarball into a git import
// without unpacking 1.3 GB onto the disk first.

export interface TarEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  /** Permission bits (the executable bit is what git keeps). */
  mode: number;
  /** A symlink's target. */
  linkname: string;
  /** A file's content (empty for the others). */
  data: Buffer;
}

const BLOCK = 512;

/** Bytes of an async chunk stream, read in exact sizes. */
class ByteQueue {
  readonly #it: AsyncIterator<Buffer>;
  #chunks: Buffer[] = [];
  #length = 0;
  #done = false;

  constructor(stream: AsyncIterable<Buffer>) {
    this.#it = stream[Symbol.asyncIterator]();
  }

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.#length < n && !this.#done) {
      const r = await this.#it.next();
      if (r.done) this.#done = true;
      else {
        this.#chunks.push(r.value);
        this.#length += r.value.length;
      }
    }
    const all = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
    const take = Math.min(n, all.length);
    const out = all.subarray(0, take);
    const rest = all.subarray(take);
    this.#chunks = rest.length ? [rest] : [];
    this.#length = rest.length;
    return out;
  }
}

const cstring = (b: Buffer) => {
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
};

function octal(b: Buffer, what: string): number {
  if (b[0]! & 0x80) throw new Error(`tar: base-256 ${what} is not supported`);
  const s = cstring(b).trim();
  return s === '' ? 0 : parseInt(s, 8);
}

/** pax extended header records: "<len> key=value\n". */
function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) break;
    const len = parseInt(data.subarray(at, space).toString('ascii'), 10);
    if (!(len > 0)) break;
    const rec = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    at += len;
  }
  return out;
}

export async function* tarEntries(stream: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const q = new ByteQueue(stream);
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax: Record<string, string> = {};
  for (;;) {
    const h = await q.read(BLOCK);
    if (h.length < BLOCK) throw new Error('tar: truncated archive');
    if (h.every((x) => x === 0)) return;
    const size = octal(h.subarray(124, 136), 'size');
    const flag = String.fromCharCode(h[156]!);
    const body = await q.read(size);
    if (body.length < size) throw new Error('tar: truncated entry');
    await q.read((BLOCK - (size % BLOCK)) % BLOCK);
    if (flag === 'L') longName = cstring(body);
    else if (flag === 'K') longLink = cstring(body);
    else if (flag === 'x') pax = paxRecords(body);
    else if (flag === 'g') continue;
    else {
      const ustar = h.subarray(257, 263).toString('latin1') === 'ustar\0';
      const prefix = ustar ? cstring(h.subarray(345, 500)) : '';
      const name = cstring(h.subarray(0, 100));
      const path = pax.path ?? longName ?? (prefix ? `${prefix}/${name}` : name);
      const linkname = pax.linkpath ?? longLink ?? cstring(h.subarray(157, 257));
      const mode = octal(h.subarray(100, 108), 'mode');
      longName = longLink = undefined;
      pax = {};
      if (flag === '0' || flag === '\0' || flag === '7') yield { path, type: 'file', mode, linkname: '', data: body };
      else if (flag === '2') yield { path, type: 'symlink', mode, linkname, data: Buffer.alloc(0) };
      else if (flag === '5') yield { path, type: 'dir', mode, linkname: '', data: Buffer.alloc(0) };
      else throw new Error(`tar: entry ${path} has type ${JSON.stringify(flag)}, which this reader does not take`);
    }
  }
}
