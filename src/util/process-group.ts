// Signalling a process group we started (spawned detached, so its pid is the
// group id). The one place that calls kill(-pid): a pid that is not a real
// child's (0, 1, NaN from an empty pid file) would signal our own group or
// every process, so it is refused here rather than at each caller.
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined || !Number.isInteger(pid) || pid <= 1) return;
  try {
    process.kill(-pid, signal);
  } catch {
    /* already gone */
  }
}
