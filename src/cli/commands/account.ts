// `stacklab account add/list/revoke` and `stacklab secret issue/list/revoke`:
// the lab's admin manages accounts and testbox secrets on the lab's own
// database (the same --data/--db as the server's), not over the API, so the
// first admin needs nothing but access to the lab's machine. A token or
// secret is printed once; only its sha256 is kept.
import type { Command } from 'commander';
import { buildConfig } from '../../config.ts';
import { UserError } from '../../errors.ts';
import { Store } from '../../store/db.ts';
import { addAccount, issueSecret, listAccounts, listSecrets, revokeAccount, revokeSecret } from '../../store/credentials.ts';
import { out, printJson, table } from '../common.ts';
import { absolutePath } from '../options.ts';

interface DbFlags {
  data?: string;
  db?: string;
  json?: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function dbOptions(cmd: Command): Command {
  return cmd
    .option('--data <dir>', "the lab's data directory (default: $STACKLAB_DATA or ./.data)", absolutePath)
    .option('--db <url>', "the lab's database (default: <data>/stacklab.db, or $STACKLAB_DB)")
    .option('--json', 'machine-readable output');
}

async function withStore<T>(f: DbFlags, fn: (s: Store) => Promise<T>): Promise<T> {
  const config = buildConfig({ data: f.data, db: f.db });
  const store = await Store.open(config.dbUrl);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

const checkName = (name: string, what: string) => {
  if (!NAME.test(name)) throw new UserError('bad_usage', `${what} ${JSON.stringify(name)} must be letters, digits, . _ - (at most 64)`);
};

const iso = (ms: number | null) => (ms == null ? null : new Date(ms).toISOString().slice(0, 19).replace('T', ' '));

export function registerAccount(program: Command): void {
  const account = program.command('account').description("the lab's accounts and their tokens (admin, on the lab's machine)");
  dbOptions(account.command('add'))
    .description('create an account (or give it a new token); prints its token once')
    .argument('<name>', 'the account name (my_account)')
    .option('--email <email>', 'my_email')
    .option('--admin', 'may cancel and control anyone’s jobs and bisects, and submit as any account')
    .action(async (name: string, f: DbFlags & { email?: string; admin?: boolean }) => {
      checkName(name, 'account');
      const token = await withStore(f, (s) => addAccount(s.db, { name, email: f.email, admin: f.admin }, Date.now()));
      if (f.json) return printJson({ name, token, admin: Boolean(f.admin) });
      out(`account ${name}${f.admin ? ' (admin)' : ''}: token ${token}`);
      out('Keep it: it is shown once. Put it in ~/.config/stacklab/defaults.yaml as my_token, or in $STACKLAB_TOKEN.');
    });
  dbOptions(account.command('list'))
    .description('the accounts (those that only ever submitted have no token)')
    .action(async (f: DbFlags) => {
      const rows = await withStore(f, (s) => listAccounts(s.db));
      if (f.json) return printJson(rows);
      out(table(['account', 'role', 'email', 'token', 'created', 'revoked'], rows.map((r) => [r.name, r.role, r.email, r.active ? 'yes' : 'no', iso(r.created_at), iso(r.revoked_at)])));
    });
  dbOptions(account.command('revoke'))
    .description("revoke an account's token at once (its jobs stay its own)")
    .argument('<name>')
    .action(async (name: string, f: DbFlags) => {
      const ok = await withStore(f, (s) => revokeAccount(s.db, name, Date.now()));
      if (!ok) throw new UserError('not_found', `account ${name} has no token to revoke`);
      if (f.json) printJson({ name, revoked: true });
      else out(`account ${name}: token revoked`);
    });

  const secret = program.command('secret').description('secrets testboxes register with (admin, on the lab’s machine)');
  dbOptions(secret.command('issue'))
    .description('issue a testbox secret under a name (replacing one of that name); prints it once')
    .argument('<name>', 'what the secret is for, e.g. a rack or a host')
    .action(async (name: string, f: DbFlags) => {
      checkName(name, 'secret');
      const s = await withStore(f, (st) => issueSecret(st.db, name, Date.now()));
      if (f.json) return printJson({ name, secret: s });
      out(`testbox secret ${name}: ${s}`);
      out('Start testboxes with --secret (or $STACKLAB_TESTBOX_SECRET); each gets a token of its own when it registers.');
    });
  dbOptions(secret.command('list'))
    .description('the testbox secrets')
    .action(async (f: DbFlags) => {
      const rows = await withStore(f, (s) => listSecrets(s.db));
      if (f.json) return printJson(rows);
      out(table(['secret', 'issued', 'revoked'], rows.map((r) => [r.name, iso(r.created_at), iso(r.revoked_at)])));
    });
  dbOptions(secret.command('revoke'))
    .description('revoke a testbox secret: no new registration with it (boxes registered keep their tokens)')
    .argument('<name>')
    .action(async (name: string, f: DbFlags) => {
      const ok = await withStore(f, (s) => revokeSecret(s.db, name, Date.now()));
      if (!ok) throw new UserError('not_found', `no live secret ${name}`);
      if (f.json) printJson({ name, revoked: true });
      else out(`secret ${name}: revoked`);
    });
}
