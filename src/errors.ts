// Typed errors shared by every layer. They carry what a user needs to act on
// them; the edges (CLI, HTTP) turn them into text, exit codes and status codes.

/** Bad input from a user: a file, an argument, a request body. CLI exit 2, HTTP 4xx. */
export class UserError extends Error {
  readonly code: string;
  readonly details: unknown;
  readonly status: number;
  constructor(code: string, message: string, details?: unknown, status = 400) {
    super(message);
    this.name = 'UserError';
    this.code = code;
    this.details = details;
    this.status = status;
  }
}

/** The thing asked for exists but failed (a job failed, a wait timed out). CLI exit 1. */
export class FailureError extends Error {
  readonly details: unknown;
  constructor(message: string, details?: unknown) {
    super(message);
    this.name = 'FailureError';
    this.details = details;
  }
}

/** A reference to something that does not exist (HTTP 404). */
export class NotFoundError extends UserError {
  constructor(what: string, id: string | number) {
    super('not_found', `${what} ${id} not found`, { [what]: id }, 404);
    this.name = 'NotFoundError';
  }
}

/** A request that conflicts with the current state (HTTP 409). */
export class ConflictError extends UserError {
  constructor(message: string, details?: unknown) {
    super('conflict', message, details, 409);
    this.name = 'ConflictError';
  }
}
