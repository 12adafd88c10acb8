-- Testbox health as LAVA keeps it: infrastructure failures in a row that
-- were the box's doing (a job it lost, a stage it never finished), and the
-- reason it was taken out of dispatch once they reached the lab's
-- testbox_max_infra_failures. NULL: the box takes jobs. An admin's
-- `stacklab testbox enable HOST` clears both.
ALTER TABLE testboxes ADD COLUMN infra_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE testboxes ADD COLUMN disabled_reason TEXT;
ALTER TABLE testboxes ADD COLUMN disabled_at {{bigint}};
