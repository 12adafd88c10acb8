// Typed errors shared by every layer, and the one table of error codes. They
// carry what a user needs to act on them; the edges (CLI, HTTP) turn them
// into text, exit codes and status codes. An API error answer is
// {error: <code>, message, details}; the codes below are stable.

/** Every error code the API and the CLI use, with the HTTP status it usually goes with. */
export const ERROR_CODES = {
  // the request itself
  invalid_request: { status: 400, meaning: 'the request does not match the route schema (details: the validation errors)' },
  bad_usage: { status: 400, meaning: 'a command-line option or argument is malformed' },
  unauthorized: { status: 401, meaning: 'no valid token: the lab has accounts on and this request needs one (Authorization: Bearer <token>)' },
  forbidden: { status: 403, meaning: 'the token is valid but may not do this (another account’s job, a job the testbox does not hold, an upstream the lab does not allow…)' },
  not_found: { status: 404, meaning: 'no such job, build, testbox, bisect, route or file' },
  method_not_allowed: { status: 405, meaning: 'the route does not take this method' },
  conflict: { status: 409, meaning: 'the request conflicts with the current state (a job already finished, held by another testbox…)' },
  too_large: { status: 413, meaning: 'a body, upload or file over its limit' },
  unsupported_media_type: { status: 415, meaning: 'a body of a content type the route does not take' },
  internal: { status: 500, meaning: 'a fault of the server; see its log' },
  // jobs and job files
  invalid_job: { status: 400, meaning: 'one or more jobs of a submit are invalid (details.issues: job index, field path, message)' },
  invalid_job_file: { status: 400, meaning: 'a job file is malformed (details.issues with file, line, column, field)' },
  too_many_jobs: { status: 400, meaning: 'a submit expands to more jobs than the limit' },
  unknown_suite: { status: 400, meaning: 'no such suite in the lab' },
  bad_path: { status: 400, meaning: 'a path that is absolute, has . or .. parts, or leaves its root' },
  bad_name: { status: 400, meaning: 'a package, fork or other name outside its pattern' },
  // the lab and its upstreams
  bad_lab: { status: 400, meaning: 'the lab directory or one of its files is malformed' },
  bad_ref: { status: 400, meaning: 'a commit ref that cannot be used (option-like, a range…)' },
  unknown_ref: { status: 400, meaning: 'a ref the upstream does not have' },
  bad_url: { status: 400, meaning: 'an upstream URL that cannot be used' },
  bad_repo: { status: 400, meaning: 'a path that is not a git repository' },
  upstream_unreachable: { status: 400, meaning: 'the upstream cannot be cloned or fetched' },
  // the server
  db_in_use: { status: 409, meaning: 'another live stacklab server already uses this SQLite file (its lock file names the pid)' },
  // testboxes
  idempotency_conflict: { status: 409, meaning: 'an Idempotency-Key already used for another request body' },
  bad_hostname: { status: 400, meaning: 'a testbox name outside its pattern' },
  bad_type: { status: 400, meaning: 'a testbox type other than dc, vm or hw' },
  bad_health: { status: 400, meaning: 'a testbox closed a job with a health it may not set' },
  not_a_build: { status: 400, meaning: 'an artifact upload for a job that is not a pkgbuild job' },
  stale_build_job: { status: 409, meaning: 'an artifact upload by a pkgbuild job that is no longer its build’s current attempt' },
  bad_artifact: { status: 400, meaning: 'an artifact name the package’s build does not produce' },
  // bisection
  bad_bisect: { status: 400, meaning: 'a bisect request that cannot be started' },
  bad_command: { status: 400, meaning: 'bisect run: the test command is missing or cannot be started' },
  bad_metric: { status: 400, meaning: 'bisect run: --metric and --direction go together' },
  bad_jobs: { status: 400, meaning: 'bisect run: -j must be a positive integer' },
  bad_input: { status: 400, meaning: 'bisect run: the commit graph cannot be bisected' },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Bad input from a user: a file, an argument, a request body. CLI exit 2, HTTP 4xx. */
export class UserError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;
  readonly status: number;
  constructor(code: ErrorCode, message: string, details?: unknown, status: number = ERROR_CODES[code].status) {
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
    super('not_found', `${what} ${id} not found`, { [what]: id });
    this.name = 'NotFoundError';
  }
}

/** A request that conflicts with the current state (HTTP 409). */
export class ConflictError extends UserError {
  constructor(message: string, details?: unknown) {
    super('conflict', message, details);
    this.name = 'ConflictError';
  }
}
