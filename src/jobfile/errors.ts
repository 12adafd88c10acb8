// Job file errors: every issue names the file, line, column and field, and a
// file with any issue submits nothing.
import { UserError } from '../errors.ts';
import type { SourcePos } from './located.ts';

export interface JobFileIssue extends SourcePos {
  /** Dotted field path (`ss.linux.commit`); empty for the document itself. */
  path: string;
  message: string;
}

export function formatIssue(i: JobFileIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.col}` : i.file;
  return i.path ? `${where} ${i.path}: ${i.message}` : `${where}: ${i.message}`;
}

export class JobFileError extends UserError {
  readonly issues: JobFileIssue[];
  constructor(issues: JobFileIssue[]) {
    super('invalid_job_file', issues.map(formatIssue).join('\n'), { issues });
    this.name = 'JobFileError';
    this.issues = issues;
  }
}

export const issueAt = (pos: SourcePos, path: string, message: string): JobFileIssue => ({ ...pos, path, message });
