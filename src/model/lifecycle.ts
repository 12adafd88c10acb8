// The job lifecycle as plain rules: stages, health values, which transitions a
// testbox may report, each stage's deadline, and what a passed deadline means.
// No I/O; the scheduler applies these inside its transactions.

export const STAGES = ['submit', 'boot', 'running', 'post_run', 'finish'] as const;
export type Stage = (typeof STAGES)[number];

/** `unrunnable`: it waited queue_timeout while no registered testbox could ever take it (the scheduler's verdict, never a testbox's). */
export const HEALTHS = ['success', 'failed', 'dependency_failed', 'timeout', 'abnormal', 'cancel', 'unrunnable'] as const;
export type Health = (typeof HEALTHS)[number];

/** Stages in which a job occupies a testbox. */
export const ACTIVE_STAGES = ['boot', 'running', 'post_run'] as const satisfies readonly Stage[];

export type TboxType = 'dc' | 'vm' | 'hw';

/** The testbox group's prefix gives its type: dc*, vm*, else physical hardware. */
export function tboxType(group: string): TboxType {
  if (group.startsWith('dc')) return 'dc';
  if (group.startsWith('vm')) return 'vm';
  return 'hw';
}

export type ActiveStage = (typeof ACTIVE_STAGES)[number];

/** Whether a job in this stage occupies a testbox. */
export function isActive(stage: string): stage is ActiveStage {
  return (ACTIVE_STAGES as readonly string[]).includes(stage);
}

/** Forward moves a testbox may report while it holds the job. */
const REPORTABLE: Record<string, readonly Stage[]> = {
  boot: ['running', 'post_run'],
  running: ['post_run'],
  post_run: [],
};

export function canReport(from: string, to: string): to is Stage {
  return (REPORTABLE[from] ?? []).includes(to as Stage);
}

/** Health a testbox may close a job with (the scheduler sets the others). */
export const TESTBOX_HEALTHS = ['success', 'failed', 'timeout', 'abnormal'] as const satisfies readonly Health[];
export type TestboxHealth = (typeof TESTBOX_HEALTHS)[number];

export function isTestboxHealth(h: string): h is TestboxHealth {
  return (TESTBOX_HEALTHS as readonly string[]).includes(h);
}

export interface Deadlines {
  /** ms from hand-over to the testbox until it must report running. */
  bootTimeout: number;
  /** ms the running stage may exceed the job's runtime before the scheduler steps in. */
  runningGrace: number;
  /** ms allowed for uploading results. */
  postRunTimeout: number;
}

/**
 * When the given stage must be over, or null if it has no deadline. Running
 * gets the job's runtime plus max(runtime/8, grace), as compass-ci does, so a
 * testbox has time to kill an overrunning test and report it.
 */
export function stageDeadline(stage: string, now: number, runtimeSec: number, d: Deadlines): number | null {
  switch (stage) {
    case 'boot':
      return now + d.bootTimeout;
    case 'running':
      return now + runtimeSec * 1000 + Math.max((runtimeSec * 1000) / 8, d.runningGrace);
    case 'post_run':
      return now + d.postRunTimeout;
    default:
      return null;
  }
}

/**
 * What a passed deadline means. A running job on a testbox that still
 * heartbeats overran its runtime (timeout); anything else means the testbox
 * or its agent is gone (abnormal).
 */
export function expiredHealth(stage: string, testboxAlive: boolean): Health {
  return stage === 'running' && testboxAlive ? 'timeout' : 'abnormal';
}
