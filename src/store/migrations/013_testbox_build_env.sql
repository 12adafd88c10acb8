-- The variables a testbox sets for every build it makes (`stacklab testbox
-- --build-env NAME=VALUE`), as the box registered them: a JSON object, NULL
-- for none. Shown by `stacklab testboxes`; never part of a build key.
ALTER TABLE testboxes ADD COLUMN build_env TEXT;
