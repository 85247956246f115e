-- Helpers shared by the pg_regress tests (test/sql/*.sql), in the schema
-- regress.  A test that uses them includes this file first, silently:
--
--     \set ECHO none
--     \i test/sql/include/helpers.sql
--     \set ECHO all
--
-- The path is from the top of the tree, where make runs pg_regress:
-- pg_regress feeds each test to psql on standard input, so psql cannot
-- know the test's own folder and \ir would look from the working directory
-- too.  This folder holds no test: the Makefile takes test/sql/*.sql only.
--
-- The tests of one run share a database, so everything here may run any
-- number of times in it, prints nothing, and leaves client_min_messages as
-- it found it.
SELECT current_setting('client_min_messages') AS regress_saved_client_min_messages \gset
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS regress;
GRANT USAGE ON SCHEMA regress TO PUBLIC;

-- regress.try runs a statement and shows its SQLSTATE, message, detail and
-- hint instead of failing.
CREATE OR REPLACE FUNCTION regress.try(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text; hnt text;
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN st || ': ' || msg
        || CASE WHEN det <> '' THEN E'\n  detail: ' || det ELSE '' END
        || CASE WHEN hnt <> '' THEN E'\n  hint: ' || hnt ELSE '' END;
END
$$;

-- regress.try with the sequence numbers of user dispensers masked (they
-- depend on how many dispensers were made before in the database).
CREATE OR REPLACE FUNCTION regress.try_masked(stmt text) RETURNS text
LANGUAGE sql AS $$ SELECT regexp_replace(regress.try(stmt), 'dispenser_[0-9]+', 'dispenser_N', 'g') $$;

-- The batch limit of whichever flavour is installed: the C flavour's
-- setting storagebox.max_count (for this session), the SQL flavour's
-- storagebox_data.setting (for the database).  NULL goes back to 100.
CREATE OR REPLACE FUNCTION regress.set_max_count(n integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_extension WHERE extname = 'storagebox_sql') THEN
        IF n IS NULL THEN
            DELETE FROM storagebox_data.setting;
        ELSE
            INSERT INTO storagebox_data.setting (max_count) VALUES (n)
            ON CONFLICT (one_row) DO UPDATE SET max_count = excluded.max_count;
        END IF;
    ELSIF n IS NULL THEN
        RESET storagebox.max_count;
    ELSE
        PERFORM set_config('storagebox.max_count', n::text, false);
    END IF;
END
$$;
CREATE OR REPLACE FUNCTION regress.max_count() RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT FROM pg_extension WHERE extname = 'storagebox_sql') THEN
        RETURN COALESCE((SELECT max_count FROM storagebox_data.setting), 100);
    END IF;
    RETURN current_setting('storagebox.max_count')::integer;
END
$$;
GRANT EXECUTE ON FUNCTION regress.set_max_count(integer) TO PUBLIC;

-- A bank's counts from sb_banks, with items_held (1.4).
CREATE OR REPLACE FUNCTION regress.counts(p_bank text,
    OUT items_total bigint, OUT items_handed_out bigint, OUT items_left bigint,
    OUT items_held bigint)
LANGUAGE sql AS $$
    SELECT items_total, items_handed_out, items_left, items_held
      FROM sb_banks WHERE bank = p_bank
$$;

-- Everything about a bank that a call could change, as one text: its
-- counts, its claim rows (holder and hold columns) and its cursor.
CREATE OR REPLACE FUNCTION regress.bank_state(p_bank text) RETURNS text
LANGUAGE sql AS $$
    SELECT (SELECT format('%s/%s/%s/%s', items_total, items_handed_out, items_left, items_held)
              FROM sb_banks WHERE bank = p_bank)
        || ' claims ' || (SELECT coalesce(string_agg(format('%s=%s:%s:%s', c.slot, c.dedup_id,
                                  c.held_since, c.hold_expires), ',' ORDER BY c.slot), '')
                             FROM storagebox_data.claim c WHERE c.bank_id = b.bank_id)
        || ' cursor ' || coalesce(pg_sequence_last_value(b.cursor_seq)::text, 'unused')
      FROM storagebox_data.bank b WHERE b.bank_name = p_bank
$$;

SET client_min_messages = :'regress_saved_client_min_messages';
\unset regress_saved_client_min_messages
