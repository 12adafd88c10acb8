// Every error leaves the API as {error, message, details} with a 4xx status
// for the client's mistakes; internal faults are logged and reported as 500.
import type { FastifyError, FastifyInstance } from 'fastify';
import { UserError } from '../errors.ts';

const STATUS_ERRORS: Record<number, string> = { 404: 'not_found', 405: 'method_not_allowed', 413: 'too_large', 415: 'unsupported_media_type' };

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | UserError | Error, request, reply) => {
    if (err instanceof UserError) {
      return reply.status(err.status).send({ error: err.code, message: err.message, details: err.details ?? null });
    }
    const fe = err as FastifyError;
    if (fe.validation) {
      return reply.status(400).send({ error: 'invalid_request', message: fe.message, details: fe.validation });
    }
    const status = fe.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      // Fastify's own codes (FST_ERR_CTP_INVALID_JSON_BODY, …) are its internals; a client gets a stable name.
      const error = STATUS_ERRORS[status] ?? (fe.code && !fe.code.startsWith('FST_') ? fe.code.toLowerCase() : 'invalid_request');
      return reply.status(status).send({ error, message: fe.message, details: null });
    }
    request.log.error({ err }, 'internal error');
    return reply.status(500).send({ error: 'internal', message: 'internal server error; see the server log', details: null });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: 'not_found', message: `no route ${request.method} ${request.url}`, details: null });
  });
}

/** An AbortSignal that fires when the client goes away, for long-polls. */
export function clientGone(reply: { raw: NodeJS.EventEmitter & { writableFinished: boolean } }): AbortSignal {
  const ac = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) ac.abort();
  });
  return ac.signal;
}
