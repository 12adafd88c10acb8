// A worker thread that checkpoints a SQLite WAL with a connection of its
// own. The serving connection has auto-checkpoint off: a checkpoint there
// would stall whichever claim or submit happened to cross the threshold
// (the p99 of claims showed it every ~100 transactions).
import { parentPort, workerData } from 'node:worker_threads';
import { DatabaseSync } from 'node:sqlite';

const { file, everyMs } = workerData as { file: string; everyMs: number };
const db = new DatabaseSync(file);
db.exec('PRAGMA busy_timeout = 1000');
const timer = setInterval(() => {
  try {
    // PASSIVE: copies what it can without waiting for, or blocking, the writer.
    db.prepare('PRAGMA wal_checkpoint(PASSIVE)').get();
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
