// The SVR4 "newc" cpio format (what the Linux initramfs and lkp-tests' .cgz
// use): a streaming writer and a streaming reader. The writer is
// deterministic — mtime 0, owner 0, inode numbers in order — so one tree
// always gives the same bytes and the same sha256.

export const MAGIC = '070701';
export const TRAILER = 'TRAILER!!!';
const HEADER_LEN = 110;

export const S_IFMT = 0o170000;
export const S_IFREG = 0o100000;
export const S_IFDIR = 0o040000;
export const S_IFLNK = 0o120000;

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface EntryHeader {
  name: string;
  /** Full st_mode: type bits and permissions. */
  mode: number;
  type: EntryType;
  size: number;
  mtime: number;
  ino: number;
  nlink: number;
}

export function entryType(mode: number): EntryType {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'file';
    case S_IFDIR:
      return 'dir';
    case S_IFLNK:
      return 'symlink';
    default:
      return 'other';
  }
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;
const hex8 = (n: number) => n.toString(16).padStart(8, '0');

/** One header with its name, padded so the data that follows starts 4-aligned. */
export function encodeHeader(h: { name: string; mode: number; size: number; ino: number; nlink: number; mtime?: number }): Buffer {
  const name = Buffer.from(h.name + '\0', 'utf8');
  const fields = [h.ino, h.mode, 0, 0, h.nlink, h.mtime ?? 0, h.size, 0, 0, 0, 0, name.length, 0];
  const head = Buffer.from(MAGIC + fields.map(hex8).join(''), 'ascii');
  return Buffer.concat([head, name, Buffer.alloc(pad4(HEADER_LEN + name.length))]);
}

export const dataPadding = (size: number) => Buffer.alloc(pad4(size));

export function trailer(): Buffer {
  return encodeHeader({ name: TRAILER, mode: 0, size: 0, ino: 0, nlink: 1 });
}

export class CpioFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CpioFormatError';
  }
}

/**
 * Pulls exact byte counts out of an async stream of chunks, so the reader
 * never holds more than one chunk plus a header in memory.
 */
export class ByteReader {
  readonly #it: AsyncIterator<Buffer>;
  #buf: Buffer = Buffer.alloc(0);
  #done = false;
  offset = 0;

  constructor(source: AsyncIterable<Buffer | string>) {
    const it = source[Symbol.asyncIterator]();
    this.#it = {
      next: async () => {
        const r = await it.next();
        return r.done ? r : { done: false, value: typeof r.value === 'string' ? Buffer.from(r.value) : r.value };
      },
    };
  }

  async #fill(n: number): Promise<boolean> {
    while (this.#buf.length < n && !this.#done) {
      const r = await this.#it.next();
      if (r.done) this.#done = true;
      else this.#buf = this.#buf.length === 0 ? r.value : Buffer.concat([this.#buf, r.value]);
    }
    return this.#buf.length >= n;
  }

  /** Exactly n bytes, or an error saying the archive ended early. */
  async read(n: number, what: string): Promise<Buffer> {
    if (!(await this.#fill(n))) throw new CpioFormatError(`archive truncated in ${what} at byte ${this.offset + this.#buf.length}`);
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    this.offset += n;
    return out;
  }

  /** Hands n bytes to `sink` chunk by chunk. */
  async stream(n: number, what: string, sink: (chunk: Buffer) => Promise<void> | void): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#buf.length === 0 && !(await this.#fill(1))) throw new CpioFormatError(`archive truncated in ${what} at byte ${this.offset}`);
      const take = Math.min(left, this.#buf.length);
      const chunk = this.#buf.subarray(0, take);
      this.#buf = this.#buf.subarray(take);
      this.offset += take;
      left -= take;
      await sink(chunk);
    }
  }
}

function parseHeader(raw: Buffer, offset: number): Omit<EntryHeader, 'name' | 'type'> & { namesize: number } {
  const magic = raw.toString('ascii', 0, 6);
  if (magic !== MAGIC) throw new CpioFormatError(`not a newc cpio archive: bad magic ${JSON.stringify(magic)} at byte ${offset}`);
  const field = (i: number) => {
    const text = raw.toString('ascii', 6 + i * 8, 14 + i * 8);
    if (!/^[0-9a-fA-F]{8}$/.test(text)) throw new CpioFormatError(`bad header field ${JSON.stringify(text)} at byte ${offset}`);
    return parseInt(text, 16);
  };
  return { ino: field(0), mode: field(1), nlink: field(4), mtime: field(5), size: field(6), namesize: field(11) };
}

export interface ReadEntry extends EntryHeader {
  /** For symlinks: the target. */
  linkTarget?: string;
}

/**
 * Reads entries one by one. For each file entry `onData` receives its
 * content in chunks before the next entry is read; nothing else is kept.
 */
export async function readArchive(
  source: AsyncIterable<Buffer | string>,
  onEntry: (e: ReadEntry, data: (sink: (chunk: Buffer) => Promise<void> | void) => Promise<void>) => Promise<void>,
): Promise<void> {
  const r = new ByteReader(source);
  for (;;) {
    const at = r.offset;
    const h = parseHeader(await r.read(HEADER_LEN, 'a header'), at);
    if (h.namesize === 0 || h.namesize > 4096) throw new CpioFormatError(`bad name size ${h.namesize} at byte ${at}`);
    const nameBuf = await r.read(h.namesize, 'a name');
    const name = nameBuf.toString('utf8', 0, h.namesize - 1);
    await r.read(pad4(HEADER_LEN + h.namesize), 'name padding');
    if (name === TRAILER) return;
    const entry: ReadEntry = { ...h, name, type: entryType(h.mode) };
    let consumed = false;
    if (entry.type === 'symlink') {
      entry.linkTarget = (await r.read(h.size, `the link target of ${name}`)).toString('utf8');
      consumed = true;
    }
    await onEntry(entry, async (sink) => {
      if (consumed) return;
      consumed = true;
      await r.stream(h.size, `the data of ${name}`, sink);
    });
    if (!consumed) await r.stream(h.size, `the data of ${name}`, () => {});
    await r.read(pad4(h.size), 'data padding');
  }
}
