-- A health-check job (LAVA's): pinned to one testbox (jobs.pinned_host) and
-- the one kind of job a box out of dispatch may still take; when it passes,
-- the box is back in dispatch (scheduler/finish.ts). 0 for every other job.
ALTER TABLE jobs ADD COLUMN health_check INTEGER NOT NULL DEFAULT 0;
