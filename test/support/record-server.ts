// A small HTTP server standing in for the lab's API in vm tests: it answers
// the guest runner's reports (200 {} unless told otherwise) and keeps every
// request it got, body and all.
import { createServer } from 'node:http';

export interface Seen {
  method: string;
  path: string;
  auth: string | undefined;
  body: Buffer;
}

export interface RecordServer {
  port: number;
  seen: Seen[];
  /** The status to answer for a path (default 200). */
  answer: (path: string) => number;
  /** The body of the last upload of a result file, as text. */
  result(name: string): string | undefined;
  close(): Promise<void>;
}

export async function recordServer(): Promise<RecordServer> {
  const rs: RecordServer = {
    port: 0,
    seen: [],
    answer: () => 200,
    result(name) {
      const hit = rs.seen.filter((s) => s.path.split('?')[0]!.endsWith(`/result/${encodeURIComponent(name).replace(/%2F/g, '/')}`)).at(-1);
      return hit?.body.toString();
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      rs.seen.push({ method: req.method!, path: req.url!, auth: req.headers.authorization, body: Buffer.concat(parts) });
      const status = rs.answer(req.url!);
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(status === 200 ? '{}' : JSON.stringify({ error: 'conflict', message: 'the job is not yours' }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  rs.port = (server.address() as { port: number }).port;
  return rs;
}
