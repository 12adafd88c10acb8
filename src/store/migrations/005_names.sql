-- One name per concept across the database, the API and the code: a build's
-- upstream is `upstream_url` and its full sha is `commit` (beside
-- `commit_ref`, the commit as written), as the API has always shown them.
ALTER TABLE builds RENAME COLUMN url TO upstream_url;
ALTER TABLE builds RENAME COLUMN sha TO "commit";
