// A job as the scheduler keeps it: the submitted fields with the lab's
// defaults filled in. Stored whole (jobs.spec), shown by the API, written as
// job.yaml into the result root and the job's job.cgz.

/** The fields every job has once the lab's defaults are applied. */
export interface JobDefaults {
  testbox: string;
  os: string;
  os_version: string;
  os_arch: string;
  memory_minimum: number;
  runtime: number;
  priority: number;
  my_account: string;
}

/** A job with every field the lab defaults filled in; any other key is a job variable. */
export type ResolvedJob = Record<string, unknown> & JobDefaults & { suite: string };

/** Where a job's results live: SPEC §5's result root, under <data>/srv. */
export function resultRoot(job: ResolvedJob, id: number, submitTime: number): string {
  const day = new Date(submitTime).toISOString().slice(0, 10);
  return `/result/${job.suite}/${day}/${job.testbox}/${job.os}-${job.os_version}-${job.os_arch}/${id}`;
}
