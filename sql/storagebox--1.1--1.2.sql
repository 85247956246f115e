/* storagebox 1.2: a deadlock-free lock protocol for banks, crash-safe dispensers on every range */

\echo Use "ALTER EXTENSION storagebox UPDATE TO '1.2'" to load this file. \quit

-- Banks
--
-- The watermark is raised by whichever fetch notices that more slots have
-- committed claims, without waiting for anybody: two fetches may raise it
-- to the same value at once, so its index is no longer unique.
ALTER TABLE storagebox_data.bank_progress DROP CONSTRAINT bank_progress_pkey;
CREATE INDEX bank_progress_upto
    ON storagebox_data.bank_progress (bank_id, settled_upto);

-- Dispensers

-- Taking numbers now needs a per-dispenser right, as nextval needs one on its
-- sequence: USAGE (or UPDATE) on the dispenser's sequence, checked by the C
-- functions for the current user.  These two grant and revoke it by name.
CREATE FUNCTION @extschema@.sb_grant_dispenser(dispenser text, role regrole)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d storagebox_data.dispenser;
BEGIN
    d := storagebox_data.dispenser_by_name(dispenser);
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    EXECUTE pg_catalog.format('GRANT USAGE ON SEQUENCE %s TO %s', d.seq, role);
END
$$;

CREATE FUNCTION @extschema@.sb_revoke_dispenser(dispenser text, role regrole)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d storagebox_data.dispenser;
BEGIN
    d := storagebox_data.dispenser_by_name(dispenser);
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    EXECUTE pg_catalog.format('REVOKE USAGE, UPDATE ON SEQUENCE %s FROM %s', d.seq, role);
END
$$;

REVOKE ALL ON FUNCTION @extschema@.sb_grant_dispenser(text, regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_revoke_dispenser(text, regrole) FROM PUBLIC;

-- next_value is shown where the reader has SELECT or USAGE on the sequence,
-- NULL elsewhere (as pg_sequences shows last_value), so that GRANT SELECT ON
-- sb_dispensers works.  dispenser_next_value checks that right itself, like
-- pg_sequence_last_value, so it can be executable by everyone: the view
-- calls it with the reader's rights.
CREATE OR REPLACE VIEW @extschema@.sb_dispensers AS
SELECT d.dispenser_name AS dispenser,
       CASE WHEN s.seqincrement OPERATOR(pg_catalog.>) 0
            THEN 'forward' ELSE 'reverse' END AS direction,
       s.seqmin AS min_value,
       s.seqmax AS max_value,
       CASE WHEN pg_catalog.has_sequence_privilege(d.seq::pg_catalog.oid, 'SELECT, USAGE')
            THEN storagebox_data.dispenser_next_value(d.seq) END AS next_value
  FROM storagebox_data.dispenser d
  JOIN pg_catalog.pg_sequence s
    ON s.seqrelid OPERATOR(pg_catalog.=) d.seq::pg_catalog.oid;

GRANT EXECUTE ON FUNCTION storagebox_data.dispenser_next_value(regclass) TO PUBLIC;
