// Who may do what (SPEC §10). The server turns a request's token into a
// Caller; every scheduler operation that acts for someone takes one and
// checks it here. With the lab's accounts off (a lab on loopback) the caller
// is `open` and nothing is checked, as before accounts existed.
import { UserError } from '../errors.ts';
import type { Principal } from '../store/credentials.ts';

export type Caller = { kind: 'open' } | Principal;

export const OPEN: Caller = { kind: 'open' };

const forbidden = (message: string, details?: unknown) => new UserError('forbidden', message, details);

/** The account acting, or undefined when accounts are off; a testbox or job token may not act as a user. */
export function accountOf(caller: Caller): { name: string; admin: boolean } | undefined {
  if (caller.kind === 'open') return undefined;
  if (caller.kind !== 'account') throw forbidden(`a ${caller.kind} token cannot do this; use an account's token`);
  return caller;
}

/** The account a job is submitted as: the caller's own, unless an admin names another. */
export function submitAccount(caller: Caller, asked: unknown, fallback: string): string {
  const a = accountOf(caller);
  if (!a) return typeof asked === 'string' ? asked : fallback;
  if (asked === undefined || asked === a.name) return a.name;
  if (a.admin) return String(asked);
  throw forbidden(`account ${a.name} cannot submit as my_account ${String(asked)}`, { my_account: asked });
}

/** Only the owner of a thing, or an admin, may control it. */
export function mustOwn(caller: Caller, owner: string | null, what: string): void {
  const a = accountOf(caller);
  if (!a || a.admin || a.name === owner) return;
  throw forbidden(`${what} belongs to ${owner ?? 'nobody'}; only its owner or an admin may do this`, { owner });
}

/** A testbox speaking for itself: its token must be the box's own. */
export function mustBeTestbox(caller: Caller, hostname: string): void {
  if (caller.kind === 'open') return;
  if (caller.kind === 'testbox' && caller.hostname === hostname) return;
  throw forbidden(`this token is not testbox ${hostname}'s`, { testbox: hostname });
}

/**
 * A report on job `jobId` by `hostname`: the box's own token, or the job's
 * own token (what runs inside a vm guest holds). That the box holds the job
 * is checked against the database by the caller of this.
 */
export function mustReportFor(caller: Caller, jobId: number, hostname: string): void {
  if (caller.kind === 'open') return;
  if (caller.kind === 'testbox' && caller.hostname === hostname) return;
  if (caller.kind === 'job' && caller.jobId === jobId && caller.hostname === hostname) return;
  throw forbidden(`this token may not report on job ${jobId} as testbox ${hostname}`, { job_id: jobId, testbox: hostname });
}
