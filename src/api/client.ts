// The HTTP client the CLI and the testbox agent share. A 4xx answer becomes
// an ApiError carrying the server's {error, message, details}; the CLI turns
// it into exit 2, the agent decides per call.
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
    const res = await fetch(this.url(path, opts.query), init);
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
      throw new Error(`server error ${res.status} on ${method} ${path}: ${message}`);
    }
    return res;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, opts);
    if (res.status === 204) return undefined as T;
    const type = res.headers.get('content-type') ?? '';
    return (type.includes('json') ? await res.json() : await res.text()) as T;
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
