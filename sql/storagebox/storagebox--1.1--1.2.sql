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

-- Errors
--
-- The argument checks hand back the value they checked, so that the
-- PL/pgSQL functions call them as simple expressions: an error in one then
-- shows the function's own line as its context, never the text of an
-- internal statement (PERFORM ran them as SQL statements).  The functions
-- below are those of 1.0 and 1.1 with only their check lines changed.
CREATE FUNCTION storagebox_data.checked_name(what text, value text)
RETURNS text
AS 'MODULE_PATHNAME', 'sb_check_name'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION storagebox_data.checked_items(items text[])
RETURNS text[]
AS 'MODULE_PATHNAME', 'sb_check_items'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

REVOKE ALL ON FUNCTION storagebox_data.checked_name(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.checked_items(text[]) FROM PUBLIC;

CREATE OR REPLACE FUNCTION storagebox_data.bank_by_name(p_bank text, p_lock boolean)
RETURNS storagebox_data.bank
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b storagebox_data.bank;
BEGIN
    p_bank := storagebox_data.checked_name('bank', p_bank);
    IF p_lock THEN
        SELECT * INTO b FROM storagebox_data.bank
         WHERE bank_name OPERATOR(pg_catalog.=) p_bank FOR UPDATE;
    ELSE
        SELECT * INTO b FROM storagebox_data.bank
         WHERE bank_name OPERATOR(pg_catalog.=) p_bank;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'bank "%" does not exist', p_bank
            USING ERRCODE = 'undefined_object',
                  HINT = 'Create it with sb_create_bank().';
    END IF;
    RETURN b;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.sb_create_bank(bank text, dedup_scope text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_scope_id integer;
    v_bank_id  integer;
    v_cursor   text;
BEGIN
    bank := storagebox_data.checked_name('bank', bank);
    IF dedup_scope IS NOT NULL THEN
        dedup_scope := storagebox_data.checked_name('dedup_scope', dedup_scope);
    END IF;
    IF EXISTS (SELECT FROM storagebox_data.bank b
                WHERE b.bank_name OPERATOR(pg_catalog.=) bank) THEN
        RAISE EXCEPTION 'bank "%" already exists', bank
            USING ERRCODE = 'duplicate_object';
    END IF;

    IF dedup_scope IS NULL THEN
        INSERT INTO storagebox_data.scope (scope_name) VALUES (NULL)
        RETURNING scope_id INTO v_scope_id;
    ELSE
        INSERT INTO storagebox_data.scope (scope_name) VALUES (dedup_scope)
        ON CONFLICT (scope_name) DO NOTHING
        RETURNING scope_id INTO v_scope_id;
        IF v_scope_id IS NULL THEN
            SELECT s.scope_id INTO v_scope_id FROM storagebox_data.scope s
             WHERE s.scope_name OPERATOR(pg_catalog.=) dedup_scope
               FOR KEY SHARE;
        END IF;
    END IF;

    v_bank_id := pg_catalog.nextval('storagebox_data.bank_bank_id_seq');
    v_cursor := pg_catalog.format('storagebox_data.bank_cursor_%s', v_bank_id);
    EXECUTE pg_catalog.format(
        'CREATE SEQUENCE %s AS bigint MINVALUE 0 START 1 NO CYCLE', v_cursor);

    BEGIN
        INSERT INTO storagebox_data.bank (bank_id, bank_name, scope_id, cursor_seq)
        VALUES (v_bank_id, bank, v_scope_id, v_cursor::pg_catalog.regclass);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'bank "%" already exists', bank
            USING ERRCODE = 'duplicate_object';
    END;
    INSERT INTO storagebox_data.bank_progress (bank_id, settled_upto) VALUES (v_bank_id, 0);
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.sb_add_items(bank text, items text[])
RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b     storagebox_data.bank;
    added bigint;
    seen  bigint;
BEGIN
    items := storagebox_data.checked_items(items);
    -- The row lock serializes loaders of one bank, so slots stay contiguous.
    b := storagebox_data.bank_by_name(bank, true);

    added := storagebox_data.load_items(b.bank_id, b.items_total, items);

    IF added OPERATOR(pg_catalog.>) 0 THEN
        UPDATE storagebox_data.bank AS t
           SET items_total = t.items_total OPERATOR(pg_catalog.+) added
         WHERE t.bank_id OPERATOR(pg_catalog.=) b.bank_id;
        -- Fetchers that found the bank empty moved the cursor past the old
        -- end; bring it back so the new slots are handed out in order.
        -- (Slots it skipped meanwhile are recovered by the settle step.)
        EXECUTE pg_catalog.format('SELECT last_value FROM %s', b.cursor_seq)
           INTO seen;
        IF seen OPERATOR(pg_catalog.>) b.items_total THEN
            PERFORM pg_catalog.setval(b.cursor_seq, b.items_total, true);
        END IF;
    END IF;
    RETURN added;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.sb_lookup(bank text, dedup_id text)
RETURNS text
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b storagebox_data.bank;
    v_item text;
BEGIN
    b := storagebox_data.bank_by_name(bank, false);
    dedup_id := storagebox_data.checked_name('dedup_id', dedup_id);
    SELECT i.item INTO v_item
      FROM storagebox_data.claim c
      JOIN storagebox_data.item i
        ON i.bank_id OPERATOR(pg_catalog.=) c.bank_id
       AND i.slot OPERATOR(pg_catalog.=) c.slot
     WHERE c.scope_id OPERATOR(pg_catalog.=) b.scope_id
       AND c.dedup_id OPERATOR(pg_catalog.=) sb_lookup.dedup_id;
    RETURN v_item;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.sb_release(bank text, dedup_id text)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b storagebox_data.bank;
    v_bank_id integer;
    v_slot bigint;
    v_item text;
BEGIN
    b := storagebox_data.bank_by_name(bank, false);
    dedup_id := storagebox_data.checked_name('dedup_id', dedup_id);
    -- The claim row stays and becomes a free slot of the item's own bank.
    UPDATE storagebox_data.claim AS c
       SET scope_id = NULL, dedup_id = NULL
     WHERE c.scope_id OPERATOR(pg_catalog.=) b.scope_id
       AND c.dedup_id OPERATOR(pg_catalog.=) sb_release.dedup_id
    RETURNING c.bank_id, c.slot INTO v_bank_id, v_slot;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    SELECT i.item INTO v_item FROM storagebox_data.item i
     WHERE i.bank_id OPERATOR(pg_catalog.=) v_bank_id
       AND i.slot OPERATOR(pg_catalog.=) v_slot;
    RETURN v_item;
END
$$;

CREATE OR REPLACE FUNCTION storagebox_data.dispenser_by_name(p_dispenser text)
RETURNS storagebox_data.dispenser
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d storagebox_data.dispenser;
BEGIN
    p_dispenser := storagebox_data.checked_name('dispenser', p_dispenser);
    SELECT * INTO d FROM storagebox_data.dispenser
     WHERE dispenser_name OPERATOR(pg_catalog.=) p_dispenser FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dispenser "%" does not exist', p_dispenser
            USING ERRCODE = 'undefined_object',
                  HINT = 'Create it with sb_create_dispenser().';
    END IF;
    RETURN d;
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.sb_create_dispenser(
    dispenser text,
    direction text DEFAULT 'forward',
    min_value bigint DEFAULT 1,
    max_value bigint DEFAULT 9223372036854775807)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_seq text;
BEGIN
    dispenser := storagebox_data.checked_name('dispenser', dispenser);
    IF direction IS NULL OR min_value IS NULL OR max_value IS NULL THEN
        RAISE EXCEPTION '% must not be null',
              CASE WHEN direction IS NULL THEN 'direction'
                   WHEN min_value IS NULL THEN 'min_value'
                   ELSE 'max_value' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF direction OPERATOR(pg_catalog.<>) ALL (ARRAY['forward', 'reverse']) THEN
        RAISE EXCEPTION 'direction must be "forward" or "reverse"'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The direction given was %L.', direction);
    END IF;
    IF min_value OPERATOR(pg_catalog.>=) max_value THEN
        RAISE EXCEPTION 'min_value must be less than max_value'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The range given was %s to %s.', min_value, max_value);
    END IF;
    IF EXISTS (SELECT FROM storagebox_data.dispenser d
                WHERE d.dispenser_name OPERATOR(pg_catalog.=) dispenser) THEN
        RAISE EXCEPTION 'dispenser "%" already exists', dispenser
            USING ERRCODE = 'duplicate_object';
    END IF;

    v_seq := pg_catalog.format('storagebox_data.dispenser_%s',
                               pg_catalog.nextval('storagebox_data.dispenser_id_seq'));
    EXECUTE pg_catalog.format(
        'CREATE SEQUENCE %s AS bigint INCREMENT %s MINVALUE %s MAXVALUE %s START %s CYCLE',
        v_seq,
        CASE direction WHEN 'forward' THEN 1 ELSE -1 END,
        min_value, max_value,
        CASE direction WHEN 'forward' THEN min_value ELSE max_value END);
    BEGIN
        INSERT INTO storagebox_data.dispenser (dispenser_name, seq)
        VALUES (dispenser, v_seq::pg_catalog.regclass);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'dispenser "%" already exists', dispenser
            USING ERRCODE = 'duplicate_object';
    END;
END
$$;

DROP FUNCTION storagebox_data.check_name(text, text);
DROP FUNCTION storagebox_data.check_items(text[]);
