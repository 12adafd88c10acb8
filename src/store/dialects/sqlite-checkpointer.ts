// A worker thread that checkpoints a SQLite WAL with a connection of its
// own. The serving connection has auto-checkpoint off: a checkpoint there
// would stall whichever claim or submit happened to cross the threshold
// (the p99 of claims showed it every ~100 transactions). A PASSIVE
// checkpoint never waits, so under a steady stream of writes it may never
// finish and the WAL would grow without end (seen: 3.9 GB for a 33 MB
// database); once the WAL passes its bound, a TRUNCATE checkpoint waits for
// the writer's current transaction, copies everything back and empties it.
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { DatabaseSync } from 'node:sqlite';

const { file, everyMs, walLimitBytes } = workerData as { file: string; everyMs: number; walLimitBytes: number };
const db = new DatabaseSync(file);
db.exec('PRAGMA busy_timeout = 5000');

const walSize = (): number => {
  try {
    return statSync(`${file}-wal`).size;
  } catch {
    return 0;
  }
};

const timer = setInterval(() => {
  try {
    if (walSize() > walLimitBytes) db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get();
    // PASSIVE: copies what it can without waiting for, or blocking, the writer.
    else db.prepare('PRAGMA wal_checkpoint(PASSIVE)').get();
  } catch {
    /* busy now: the next tick tries again */
  }
}, everyMs);
parentPort?.on('message', (m) => {
  if (m === 'stop') {
    clearInterval(timer);
    try {
      db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get();
    } catch {
      /* the server is going away anyway */
    }
    db.close();
    parentPort?.postMessage('stopped');
  }
});
