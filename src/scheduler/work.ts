// Signalling new work: each job that became dispatchable wakes one testbox
// long-poll of its type and arch — not every poller of the lab. A thousand
// idle testboxes are not all woken (each to heartbeat and claim in vain) by
// one submit. A job pinned to one testbox (a bisect's spread samples) wakes
// every poller of its type and arch instead: waking "one" might wake a box
// that may not take it, and the one that may would sleep out its long-poll.
import type { Tx } from '../store/db.ts';
import { dispatchChannel, wakeAtMost } from '../store/notify.ts';

export function signalWork(t: Tx, jobs: { tbox_type: string; arch: string; pinned_host?: string | null }[]): void {
  const counts = new Map<string, number>();
  const everyone = new Set<string>();
  for (const j of jobs) {
    const ch = dispatchChannel(j.tbox_type, j.arch);
    if (j.pinned_host != null) everyone.add(ch);
    else counts.set(ch, (counts.get(ch) ?? 0) + 1);
  }
  for (const ch of everyone) t.notify(ch);
  for (const [ch, n] of counts) if (!everyone.has(ch)) t.notify(ch, wakeAtMost(n));
}
