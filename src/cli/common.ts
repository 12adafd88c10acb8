// What every CLI command shares: the server option, --json output, a client,
// and small text renderers.
import { Option, type Command } from 'commander';
import { ApiClient } from '../api/client.ts';
import { defaultServerUrl } from '../config.ts';
import { UserError } from '../errors.ts';
import { tokenFor } from './credentials.ts';
import { checkServerUrl, serverUrl } from './options.ts';

export interface GlobalOptions {
  server?: string;
  token?: string;
  json?: boolean;
}

/** The --server option: a URL, http:// when it has no scheme; its default $STACKLAB_SERVER or http://127.0.0.1:3000. */
export function serverOption(): Option {
  return new Option('--server <url>', 'scheduler URL; without a scheme, http:// (default: $STACKLAB_SERVER or http://127.0.0.1:3000)').argParser(serverUrl);
}

/** The server a command talks to: --server, else $STACKLAB_SERVER (checked as --server is), else the default. */
export function serverOf(opts: { server?: string | undefined }): string {
  if (opts.server) return opts.server;
  const r = checkServerUrl(defaultServerUrl());
  if ('error' in r) throw new UserError('bad_usage', `STACKLAB_SERVER=${JSON.stringify(process.env.STACKLAB_SERVER)} is not a server URL: ${r.error}`);
  return r.url;
}

export function withServer(cmd: Command): Command {
  return cmd
    .addOption(serverOption())
    .option('--token <token>', "your account's token, for a lab with accounts on (default: $STACKLAB_TOKEN, or my_token in ~/.config/stacklab/defaults.yaml)");
}

export function withJson(cmd: Command): Command {
  return cmd.option('--json', 'machine-readable output');
}

export function clientFor(opts: GlobalOptions): ApiClient {
  return new ApiClient(serverOf(opts), { token: tokenFor(opts.token) });
}

export function printJson(data: unknown): void {
  process.stdout.write(JSON.stringify(data, null, 2) + '\n');
}

export function out(line = ''): void {
  process.stdout.write(line + '\n');
}

/** A job's page on the dashboard. */
export const jobPage = (base: string, id: number): string => `${base}/ui/jobs/${id}`;

export function parseId(value: string, what = 'job id'): number {
  if (!/^[1-9]\d*$/.test(value)) throw new UserError('bad_usage', `${what} must be a positive integer, not ${JSON.stringify(value)}`);
  return Number(value);
}

/** A plain text table: columns padded to their widest cell. */
export function table(headers: string[], rows: (string | number | null | undefined)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (c == null ? '-' : String(c))))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : (c ?? '').padEnd(widths[i]!))).join('  ')).join('\n');
}

/** A table cell cut to `max` characters (…). */
export const cell = (s: string | null | undefined, max = 40): string | null => (s == null || s === '' ? null : s.length > max ? `${s.slice(0, max - 1)}…` : s);

export const isTty = (): boolean => Boolean(process.stdout.isTTY);

/** Elapsed time since an ISO timestamp, for humans. */
export function since(fromIso: string, toIso?: string | null): string {
  const ms = (toIso ? Date.parse(toIso) : Date.now()) - Date.parse(fromIso);
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}
