// Signalling new work: each job that became dispatchable wakes one testbox
// long-poll of its type and arch — not every poller of the lab. A thousand
// idle testboxes are not all woken (each to heartbeat and claim in vain) by
// one submit.
import type { Tx } from '../store/db.ts';
import { dispatchChannel, wakeAtMost } from '../store/notify.ts';

export function signalWork(t: Tx, jobs: { tbox_type: string; arch: string }[]): void {
  const counts = new Map<string, number>();
  for (const j of jobs) {
    const ch = dispatchChannel(j.tbox_type, j.arch);
    counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  for (const [ch, n] of counts) t.notify(ch, wakeAtMost(n));
}
