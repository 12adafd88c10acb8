// Files testboxes and people fetch: a job's job.cgz and the result trees.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { NotFoundError, UserError } from '../../errors.ts';
import type { Scheduler } from '../../scheduler/scheduler.ts';
import { IdParams } from '../schemas.ts';
import { dirPage } from '../build-page.ts';

const TEXT = /(^|\/)(output|[^/]*\.(log|txt|json|yaml|yml|sh))$/;

/** Serves a file or lists a directory below `root` (JSON, or HTML for a browser); paths that leave it are refused. */
export async function serveTree(root: string, rel: string, reply: FastifyReply, what: string) {
  const base = resolve(root);
  const parts = rel.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '.' || p === '..' || p.includes('\0'))) throw new UserError('bad_path', `bad path ${rel}`);
  const full = resolve(base, ...parts);
  if (full !== base && !full.startsWith(base + sep)) throw new UserError('bad_path', `bad path ${rel}`);
  const st = await stat(full).catch(() => undefined);
  if (!st) throw new NotFoundError(what, rel);
  if (st.isDirectory()) {
    const entries = await readdir(full, { withFileTypes: true });
    const names = entries.map((e) => (e.isDirectory() ? `${e.name}/` : e.name)).sort();
    // A browser gets links; API clients and testboxes (no text/html in Accept) keep the JSON array.
    if (/\btext\/html\b/.test(reply.request.headers.accept ?? '')) return reply.type('text/html; charset=utf-8').send(dirPage(reply.request.url.split('?')[0]!, names));
    return reply.send(names);
  }
  reply.header('content-length', st.size);
  reply.type(TEXT.test(rel) ? 'text/plain; charset=utf-8' : 'application/octet-stream');
  return reply.send(createReadStream(full));
}

export const fileRoutes: FastifyPluginAsync<{ scheduler: Scheduler }> = async (fastify, { scheduler }) => {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const srv = scheduler.ctx.config.srvDir;

  app.get(
    '/job_initrd_tmpfs/:id/job.cgz',
    { config: { access: 'any' }, schema: { tags: ['boot'], summary: "The job's own initrd: job.yaml and its suite's files (cpio newc, gzip)", params: IdParams } },
    async (request, reply) => {
      const data = await scheduler.jobCgz(request.params.id, request.caller);
      return reply.type('application/octet-stream').send(data);
    },
  );

  for (const top of ['initrd', 'kernel'] as const) {
    app.get(
      `/${top}/*`,
      { config: { access: 'any' }, schema: { tags: ['boot'], summary: `Build artifacts under /${top}/ (SPEC §4 layout)`, params: Type.Object({ '*': Type.String() }) } },
      async (request, reply) => serveTree(join(srv, top), request.params['*'], reply, 'artifact'),
    );
  }

  app.get(
    '/result/*',
    { config: { access: 'public' }, schema: { tags: ['boot'], summary: 'Result files (a directory answers the list of its entries: a JSON array, or an HTML page of links when Accept has text/html)', params: Type.Object({ '*': Type.String() }) } },
    async (request, reply) => serveTree(join(srv, 'result'), request.params['*'], reply, 'result file'),
  );
};
