-- Nothing: on SQLite the claim runs as plain queries in one transaction
-- (store/claim.ts). This file keeps migration numbers the same on both
-- dialects.
SELECT 1;
