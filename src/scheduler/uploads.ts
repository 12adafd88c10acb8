// Files a client sends with its jobs, as compass-ci's submit does with
// `upload_fields`: a job names a config by a path on the submitting
// machine, and the client adds that file's name, sha256 and content under
// `upload_fields.<field path>`. The server checks the digest, keeps the
// content once under that digest (a snapshot, as lab configs are) and keeps
// only the name and digest in the job. A content already held may be left
// out (a matrix of jobs sends its config once).
import { existsSync } from 'node:fs';
import { configSnapshot, snapshotContent } from '../stack/snapshot.ts';
import type { UploadedConfig } from '../stack/resolve.ts';
import type { SubmitIssue } from '../api/contract.ts';

/** The fields a client may upload a file for. */
const UPLOADABLE = /^ss\.[a-z0-9][a-z0-9._+-]{0,63}\.config$/;
const SHA256 = /^[0-9a-f]{64}$/;
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]{0,127}$/;
export const MAX_UPLOAD_BYTES = 16 * 1024 * 1024;

export interface TakenUploads {
  /** The job without the uploaded contents. */
  job: unknown;
  uploads: Map<string, UploadedConfig>;
}

/**
 * Takes the uploads out of one raw job: checks and stores each content, and
 * returns the job with `upload_fields` reduced to names and digests.
 * Problems become issues at `upload_fields.<field>`.
 */
export function takeUploads(snapshots: string, raw: unknown, index: number, issues: SubmitIssue[]): TakenUploads {
  const uploads = new Map<string, UploadedConfig>();
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || !Object.hasOwn(raw, 'upload_fields')) return { job: raw, uploads };
  const { upload_fields: fields, ...rest } = raw as Record<string, unknown>;
  const issue = (path: string, message: string) => issues.push({ job: index, path: `upload_fields${path ? `.${path}` : ''}`, message });
  if (!fields || typeof fields !== 'object' || Array.isArray(fields)) {
    issue('', 'expected a mapping of field paths (ss.<pkg>.config) to {file_name, sha256, content}');
    return { job: rest, uploads };
  }
  const kept: Record<string, UploadedConfig> = {};
  for (const [field, value] of Object.entries(fields as Record<string, unknown>)) {
    if (!UPLOADABLE.test(field)) {
      issue(field, 'only ss.<pkg>.config files are uploaded with a job');
      continue;
    }
    const v = (value ?? {}) as Record<string, unknown>;
    const sha256 = typeof v.sha256 === 'string' ? v.sha256.toLowerCase() : '';
    const fileName = typeof v.file_name === 'string' ? v.file_name : '';
    if (!SHA256.test(sha256)) {
      issue(field, 'sha256 must be the content’s sha256 in hex');
      continue;
    }
    if (!FILE_NAME.test(fileName)) {
      issue(field, `file_name ${JSON.stringify(fileName)} must be a plain file name`);
      continue;
    }
    if (typeof v.content === 'string') {
      const data = Buffer.from(v.content, 'utf8');
      if (data.length > MAX_UPLOAD_BYTES) {
        issue(field, `the file is ${data.length} bytes; at most ${MAX_UPLOAD_BYTES} are taken`);
        continue;
      }
      try {
        snapshotContent(snapshots, data, sha256);
      } catch (err) {
        issue(field, (err as Error).message);
        continue;
      }
    } else if (v.content !== undefined) {
      issue(field, 'content must be the file’s text');
      continue;
    } else if (!existsSync(configSnapshot(snapshots, sha256))) {
      issue(field, `no content with sha256 ${sha256} is held here: send the file's content`);
      continue;
    }
    const u = { file_name: fileName, sha256 };
    uploads.set(field, u);
    kept[field] = u;
  }
  return { job: Object.keys(kept).length > 0 ? { ...rest, upload_fields: kept } : rest, uploads };
}
