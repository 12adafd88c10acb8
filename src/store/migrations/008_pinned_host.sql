-- A job only one testbox may take: a lab bisect spreads the perf samples of
-- one commit over the lab's testboxes (SPEC §7), so that a difference
-- between machines is not taken for a difference between commits. NULL (every
-- other job): any testbox of the job's type and arch.
ALTER TABLE jobs ADD COLUMN pinned_host TEXT;
