// One server per SQLite file: an exclusive lock file beside the database
// (<db>.lock) holding the server's pid, made with O_EXCL so two servers
// cannot both make it. A lock whose pid is dead (a server killed with
// SIGKILL, a crash) is stale and taken over. PostgreSQL needs none: its
// servers share one database by design (SPEC §6). Only servers take it;
// the admin commands (`account add --data D`) open the file beside a
// running server, as SQLite allows.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserError } from '../errors.ts';

export interface ServerLock {
  file: string;
  release(): void;
}

/** Whether pid is a live process that could be a stacklab server (a node process). */
function liveServer(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // A pid reused since by something else is not a server (Linux; elsewhere, believed).
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return /node|stacklab/.test(cmd);
  } catch {
    return true;
  }
}

function holder(file: string): number {
  try {
    return Number.parseInt(readFileSync(file, 'utf8'), 10);
  } catch {
    return NaN;
  }
}

/** Takes the lock of a SQLite database file, or throws db_in_use naming the server that holds it. */
export function lockDatabase(dbFile: string): ServerLock {
  const file = `${dbFile}.lock`;
  mkdirSync(dirname(dbFile), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o644);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = holder(file);
    if (Number.isInteger(pid) && pid > 0 && liveServer(pid)) {
      throw new UserError('db_in_use', `another stacklab server (pid ${pid}) is using ${dbFile} (lock file ${file}); stop it first, or give this server another --data or --db`, { pid, db: dbFile, lock: file });
    }
    if (attempt >= 2) throw new UserError('db_in_use', `cannot take the lock ${file} of ${dbFile}: it keeps changing (another server starting at the same time?)`, { db: dbFile, lock: file });
    // Empty: a server writing it this instant (seen live on the next look), or one that died doing so.
    if (Number.isNaN(pid) && attempt === 0) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      continue;
    }
    try {
      unlinkSync(file);
    } catch {
      /* removed meanwhile */
    }
  }
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    if (holder(file) === process.pid) {
      try {
        unlinkSync(file);
      } catch {
        /* already gone */
      }
    }
  };
  // A server that exits without stop() (process.exit on a fatal error) still leaves no lock behind.
  process.on('exit', release);
  return { file, release };
}

/** The SQLite file a database URL names, or undefined (PostgreSQL, in-memory). */
export function sqliteFile(url: string): string | undefined {
  if (/^postgres(ql)?:\/\//.test(url)) return undefined;
  const file = url.replace(/^sqlite:(\/\/)?/, '');
  return file === ':memory:' ? undefined : file;
}
