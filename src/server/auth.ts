// Who is asking (SPEC §10). With the lab's accounts on, every request but
// the public ones carries a token (`Authorization: Bearer <token>`, or
// `?token=` where a header cannot be set: iPXE, a URL in a browser); each
// route says which kind of token it takes. The request's Caller then goes to
// the scheduler, which checks ownership (a job's account, the testbox that
// holds a job). With accounts off every request is `open`.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UserError } from '../errors.ts';
import type { Scheduler } from '../scheduler/scheduler.ts';
import { OPEN, type Caller } from '../scheduler/access.ts';
import type { Principal } from '../store/credentials.ts';

/** What a route takes: nothing (public), an account's token, a testbox's (or a job's own), or any valid token. */
export type Access = 'public' | 'account' | 'testbox' | 'any';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

/** Tokens looked up recently: a long-polling lab asks for the same few many times a second. A revoke is seen within this. */
const CACHE_MS = 2000;

function tokenOf(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const q = (request.query as Record<string, unknown> | undefined)?.token;
  return typeof q === 'string' && q !== '' ? q : undefined;
}

export function installAuth(app: FastifyInstance, scheduler: Scheduler, accountsOn: boolean): void {
  // Declared up front (fastify keeps request objects' shape stable); each request sets its own in the hook.
  app.decorateRequest('caller', null as never);
  const cache = new Map<string, { at: number; p: Principal | undefined }>();
  const lookup = async (token: string): Promise<Principal | undefined> => {
    const hit = cache.get(token);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.p;
    const p = await scheduler.principal(token);
    if (cache.size > 10_000) cache.clear();
    cache.set(token, { at: Date.now(), p });
    return p;
  };

  app.addHook('onRequest', async (request) => {
    request.caller = OPEN;
    if (!accountsOn) return;
    const url = request.routeOptions.url ?? '';
    const access: Access = request.routeOptions.config?.access ?? (url.startsWith('/docs') ? 'public' : 'account');
    const token = tokenOf(request);
    const principal = token === undefined ? undefined : await lookup(token);
    if (token !== undefined && !principal) throw new UserError('unauthorized', 'the token is not valid (unknown, revoked, or its job has ended)');
    if (access === 'public') {
      if (principal) request.caller = principal;
      return;
    }
    if (!principal) throw new UserError('unauthorized', 'this lab has accounts on: send a token (Authorization: Bearer <token>; stacklab reads my_token from ~/.config/stacklab/defaults.yaml or $STACKLAB_TOKEN)');
    if (access === 'account' && principal.kind !== 'account') throw new UserError('forbidden', `a ${principal.kind} token cannot do this; use an account's token`);
    if (access === 'testbox' && principal.kind === 'account') throw new UserError('forbidden', 'this route is for testboxes (the testbox protocol); an account token cannot use it');
    request.caller = principal;
  });
}
