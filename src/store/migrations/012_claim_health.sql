-- engine: postgres
-- (SQLite claims with plain queries in one transaction, store/claim.ts: there
-- this version is recorded and nothing runs.)
-- The claim function of 009 with one more condition: a testbox out of
-- dispatch (testboxes.disabled_reason, 010) takes only a health-check job
-- pinned to it (jobs.health_check, 011). Everything else is as before, and
-- model/match.ts is still the rule the claim test holds it to.
CREATE OR REPLACE FUNCTION stacklab_claim(p_host text, p_now bigint, p_deadline bigint, p_origin text)
RETURNS SETOF jobs
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  box testboxes%ROWTYPE;
  free double precision;
  claimed jobs%ROWTYPE;
BEGIN
  PERFORM pg_advisory_xact_lock(7246312, hashtext(p_host));
  SELECT * INTO box FROM testboxes WHERE hostname = p_host;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT box.max_memory - coalesce(sum(memory_minimum), 0) INTO free
    FROM jobs WHERE assigned = p_host AND stage IN ('boot', 'running', 'post_run');
  IF free <= 0 THEN
    RETURN;
  END IF;

  WITH cand AS (
    SELECT b.id, b.priority,
           (SELECT count(*) FROM jobs r WHERE r.account = a.name AND r.stage IN ('boot', 'running', 'post_run')) AS active
    FROM accounts a
    CROSS JOIN LATERAL (
      SELECT j.id, j.priority FROM jobs j
      WHERE j.account = a.name AND j.tbox_type = box.type AND j.arch = box.arch
        AND j.stage = 'submit' AND j.deps_pending = 0 AND j.memory_minimum <= free
        AND (j.pinned_host IS NULL OR j.pinned_host = p_host)
        AND (box.disabled_reason IS NULL OR (j.health_check = 1 AND j.pinned_host = p_host))
      ORDER BY j.priority DESC, j.id ASC
      LIMIT 8
    ) b
  ), pick AS (
    SELECT j.id FROM jobs j JOIN cand c ON c.id = j.id
    WHERE j.stage = 'submit' AND j.deps_pending = 0
    ORDER BY c.priority DESC, c.active ASC, c.id ASC
    LIMIT 1
    FOR UPDATE OF j SKIP LOCKED
  )
  UPDATE jobs SET stage = 'boot', assigned = p_host, boot_time = p_now, deadline = p_deadline
   WHERE id = (SELECT id FROM pick)
  RETURNING * INTO claimed;
  IF claimed.id IS NULL THEN
    RETURN;
  END IF;

  INSERT INTO events (job_id, time, kind, detail)
    VALUES (claimed.id, p_now, 'boot', json_build_object('testbox', p_host)::text);
  IF claimed.build_key IS NOT NULL THEN
    UPDATE builds SET state = 'building', started_at = p_now
     WHERE key = claimed.build_key AND pkgbuild_job = claimed.id AND state = 'queued';
  END IF;
  -- The job's followers on every server (the store's LISTEN payload format).
  PERFORM pg_notify('stacklab', json_build_object('o', p_origin, 'n', json_build_array(json_build_array('job:' || claimed.id, '')))::text);
  RETURN NEXT claimed;
END
$$;
