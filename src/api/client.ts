// The HTTP client the CLI and the testbox agent share. A 4xx answer becomes
// an ApiError carrying the server's {error, message, details}; the CLI turns
// it into exit 2, the agent decides per call. A server that cannot be
// reached at all is an UnreachableError naming the URL and why.
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import { UserError, type ErrorCode } from '../errors.ts';

/** A 4xx answer: the server's {error, message, details}, with its status. */
export class ApiError extends UserError {
  constructor(status: number, code: string, message: string, details: unknown) {
    super(code as ErrorCode, message, details, status);
    this.name = 'ApiError';
  }
}

const REASONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name cannot be resolved now',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  EPIPE: 'connection closed',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
};

/** No answer at all: nothing listening, the host unknown, the connection dropped. */
export class UnreachableError extends Error {
  /** The server's base URL. */
  readonly url: string;
  /** The system's code (ECONNREFUSED…), when it gave one. */
  readonly code: string | undefined;
  readonly reason: string;
  constructor(url: string, cause: unknown) {
    const c = (cause as { cause?: { code?: string; message?: string } })?.cause;
    const code = c?.code;
    const reason = (code && REASONS[code]) ?? c?.message ?? (cause as Error)?.message ?? 'no answer';
    super(`cannot reach the server at ${url} (${reason})`, { cause });
    this.name = 'UnreachableError';
    this.url = url;
    this.code = code;
    this.reason = reason;
  }
}

/** A 5xx answer: the server (or a proxy before it) failed; a later try may do better. */
export class ServerError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ServerError';
    this.status = status;
  }
}

/** A network failure of fetch (not an abort, not an answer). */
const isNetworkError = (err: unknown): boolean => err instanceof TypeError && (err.message === 'fetch failed' || (err as { cause?: unknown }).cause !== undefined);

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined> | undefined;
  json?: unknown;
  body?: string | Uint8Array | ReadableStream | undefined;
  contentType?: string | undefined;
  signal?: AbortSignal | undefined;
  headers?: Record<string, string> | undefined;
}

export interface ClientOptions {
  /** Sent as `Authorization: Bearer <token>` (a lab with accounts on). */
  token?: string | undefined;
}

export class ApiClient {
  readonly base: string;
  /** The token requests carry; a testbox sets it once it registered. */
  token: string | undefined;

  constructor(base: string, opts: ClientOptions = {}) {
    this.base = base.replace(/\/+$/, '');
    this.token = opts.token;
  }

  url(path: string, query?: RequestOptions['query']): string {
    const u = new URL(path.startsWith('http') ? path : this.base + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let body = opts.body;
    if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(opts.json);
    } else if (opts.contentType) headers['content-type'] = opts.contentType;
    const init: RequestInit & { duplex?: 'half' } = { method, headers, body: body ?? null, signal: opts.signal ?? null };
    if (body instanceof ReadableStream) init.duplex = 'half';
    const url = this.url(path, opts.query);
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (err) {
      if (isNetworkError(err)) throw new UnreachableError(this.base, err);
      throw err;
    }
    if (res.status >= 400) {
      const text = await res.text();
      let parsed: { error?: string; message?: string; details?: unknown } = {};
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch {
        parsed = { message: text };
      }
      const message = parsed.message || `${method} ${path} answered ${res.status}`;
      if (res.status < 500) throw new ApiError(res.status, parsed.error ?? 'error', message, parsed.details ?? null);
      throw new ServerError(res.status, `server error ${res.status} on ${method} ${path}: ${message}`);
    }
    return res;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, opts);
    if (res.status === 204) return undefined as T;
    const type = res.headers.get('content-type') ?? '';
    try {
      return (type.includes('json') ? await res.json() : await res.text()) as T;
    } catch (err) {
      // the connection dropped mid-answer (a server stopping)
      if (err instanceof TypeError && (err as { cause?: unknown }).cause !== undefined) throw new UnreachableError(this.base, err);
      throw err;
    }
  }

  get<T>(path: string, query?: RequestOptions['query'], signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { query, signal });
  }

  post<T>(path: string, json?: unknown, signal?: AbortSignal): Promise<T> {
    return this.request<T>('POST', path, { json: json ?? {}, signal });
  }

  /** Streams a file to the server (PUT, application/octet-stream). */
  async upload<T>(path: string, file: string, query?: RequestOptions['query']): Promise<T> {
    const body = Readable.toWeb(createReadStream(file)) as ReadableStream;
    return this.request<T>('PUT', path, { query, body, contentType: 'application/octet-stream' });
  }

  /** Streams a response body to a file; returns its size. */
  async download(path: string, file: string, signal?: AbortSignal): Promise<number> {
    const res = await this.raw('GET', path, { signal });
    if (!res.body) throw new Error(`GET ${path}: empty body`);
    let bytes = 0;
    const source = Readable.fromWeb(res.body as WebReadableStream);
    source.on('data', (c: Buffer) => (bytes += c.length));
    await pipeline(source, createWriteStream(file));
    return bytes;
  }
}
