
-- The PL/pgSQL functions and views of the C flavour's 1.2, body for body
-- (test/flavours/compare.sh checks that the sources of those the C flavour
-- still has in PL/pgSQL are identical).  sb_lookup and sb_release became C
-- functions in the C flavour's 1.3; here they stay PL/pgSQL (1.4: behind
-- caller-rights SQL bodies, for the per-bank rights), and sb_release
-- refuses a read-only transaction first, as the C one does.

CREATE FUNCTION storagebox_data.bank_by_name(p_bank text, p_lock boolean)
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

CREATE FUNCTION @extschema@.sb_create_bank(bank text, dedup_scope text DEFAULT NULL)
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

CREATE FUNCTION @extschema@.sb_add_items(bank text, items text[])
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

-- sb_lookup and sb_release run as the caller and pass CURRENT_USER to their
-- bodies, which check the bank's rights for that role (see
-- storagebox_data.fetch_item), and the rights on the row's own bank when it
-- is another bank of the scope.  A hold past its expiry holds nothing.
CREATE FUNCTION storagebox_data.lookup(p_bank text, p_dedup_id text, p_caller name)
RETURNS text
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b storagebox_data.bank;
    v_ok boolean;
    v_item text;
    v_row_bank integer;
BEGIN
    b := storagebox_data.bank_by_name(p_bank, false);
    p_dedup_id := storagebox_data.checked_name('dedup_id', p_dedup_id);
    v_ok := storagebox_data.check_right(p_bank, b.cursor_seq, p_caller, 'USAGE, SELECT', false);
    SELECT c.item, c.bank_id INTO v_item, v_row_bank
      FROM storagebox_data.claim c
     WHERE c.scope_id OPERATOR(pg_catalog.=) b.scope_id
       AND c.dedup_id OPERATOR(pg_catalog.=) p_dedup_id
       AND (c.hold_expires IS NULL
            OR c.hold_expires OPERATOR(pg_catalog.>) pg_catalog.clock_timestamp());
    v_ok := storagebox_data.check_right(b.bank_id, v_row_bank, p_caller, 'USAGE, SELECT');
    RETURN v_item;
END
$$;

CREATE FUNCTION @extschema@.sb_lookup(bank text, dedup_id text)
RETURNS text
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT storagebox_data.lookup(bank, dedup_id, CURRENT_USER);
END;

CREATE FUNCTION storagebox_data.release(p_bank text, p_dedup_id text, p_caller name)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b storagebox_data.bank;
    v_ok boolean;
    v_row_bank integer;
    o record;
    v_state text;
    v_msg text;
    v_detail text;
    v_hint text;
BEGIN
    -- As the C flavour's (1.3), refused before anything else in a read-only
    -- transaction, without the text of the UPDATE below in the error.
    IF pg_catalog.current_setting('transaction_read_only') OPERATOR(pg_catalog.=) 'on' THEN
        RAISE EXCEPTION 'cannot execute sb_release() in a read-only transaction'
            USING ERRCODE = 'read_only_sql_transaction';
    END IF;
    b := storagebox_data.bank_by_name(p_bank, false);
    p_dedup_id := storagebox_data.checked_name('dedup_id', p_dedup_id);
    v_ok := storagebox_data.check_right(p_bank, b.cursor_seq, p_caller, 'USAGE', false);
    BEGIN
        -- the row's bank, whose right is checked when it is another bank of
        -- the scope; only that bank's row is changed
        SELECT c.bank_id INTO v_row_bank FROM storagebox_data.claim c
         WHERE c.scope_id OPERATOR(pg_catalog.=) b.scope_id
           AND c.dedup_id OPERATOR(pg_catalog.=) p_dedup_id;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        v_ok := storagebox_data.check_right(b.bank_id, v_row_bank, p_caller, 'USAGE');
        -- an expired hold being taken over holds nothing: not waited for
        o := storagebox_data.lock_own(b.scope_id, p_dedup_id, v_row_bank);
        IF o.o_slot IS NULL OR o.o_busy THEN
            RETURN NULL;
        END IF;
        -- a row changed: a claim for the wait rules
        PERFORM pg_catalog.set_config('storagebox_sql.claimed', 'on', true);
        -- The claim row stays and becomes a free slot of the item's own bank.
        UPDATE storagebox_data.claim AS c
           SET scope_id = NULL, dedup_id = NULL, held_since = NULL, hold_expires = NULL
         WHERE c.bank_id OPERATOR(pg_catalog.=) o.o_bank
           AND c.slot OPERATOR(pg_catalog.=) o.o_slot;
        IF o.o_expires OPERATOR(pg_catalog.<=) pg_catalog.clock_timestamp() THEN
            RETURN NULL;
        END IF;
        RETURN o.o_item;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT,
                                v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        v_msg := storagebox_data.reraise(v_state, v_msg, v_detail, v_hint);
    END;
END
$$;

CREATE FUNCTION @extschema@.sb_release(bank text, dedup_id text)
RETURNS text
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT storagebox_data.release(bank, dedup_id, CURRENT_USER);
END;

CREATE FUNCTION @extschema@.sb_drop_bank(bank text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b storagebox_data.bank;
BEGIN
    b := storagebox_data.bank_by_name(bank, true);
    -- Dropping the cursor waits for fetches in flight (each holds a lock on
    -- it until its transaction ends) and stops new ones.
    EXECUTE pg_catalog.format('DROP SEQUENCE %s', b.cursor_seq);
    DELETE FROM storagebox_data.claim c WHERE c.bank_id OPERATOR(pg_catalog.=) b.bank_id;
    DELETE FROM storagebox_data.item i WHERE i.bank_id OPERATOR(pg_catalog.=) b.bank_id;
    DELETE FROM storagebox_data.bank_progress p WHERE p.bank_id OPERATOR(pg_catalog.=) b.bank_id;
    DELETE FROM storagebox_data.bank t WHERE t.bank_id OPERATOR(pg_catalog.=) b.bank_id;
    DELETE FROM storagebox_data.scope s
     WHERE s.scope_id OPERATOR(pg_catalog.=) b.scope_id
       AND NOT EXISTS (SELECT FROM storagebox_data.bank o
                        WHERE o.scope_id OPERATOR(pg_catalog.=) b.scope_id);
END
$$;

CREATE FUNCTION storagebox_data.dispenser_by_name(p_dispenser text)
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

CREATE FUNCTION @extschema@.sb_create_dispenser(
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

CREATE FUNCTION @extschema@.sb_drop_dispenser(dispenser text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d storagebox_data.dispenser;
BEGIN
    d := storagebox_data.dispenser_by_name(dispenser);
    IF d.builtin THEN
        RAISE EXCEPTION 'cannot drop built-in dispenser "%"', dispenser
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'It comes with the extension and backs sb_forward() and sb_reverse().';
    END IF;
    -- DROP waits for callers in flight (they hold a lock on the sequence).
    EXECUTE pg_catalog.format('DROP SEQUENCE %s', d.seq);
    DELETE FROM storagebox_data.dispenser t
     WHERE t.dispenser_name OPERATOR(pg_catalog.=) dispenser;
END
$$;

/*
 * Counts without counting rows: slots up to the watermark all have a claim
 * row, so only the claims past it and the free ones are counted, and both
 * stay small whatever the size of the bank.
 */
CREATE VIEW @extschema@.sb_banks AS
SELECT b.bank_name AS bank,
       s.scope_name AS dedup_scope,
       b.items_total,
       h.handed_out AS items_handed_out,
       b.items_total OPERATOR(pg_catalog.-) h.handed_out AS items_left,
       b.created_at
  FROM storagebox_data.bank b
  JOIN storagebox_data.scope s
    ON s.scope_id OPERATOR(pg_catalog.=) b.scope_id
  CROSS JOIN LATERAL (
       SELECT pg_catalog.max(g.settled_upto) AS settled_upto
         FROM storagebox_data.bank_progress g
        WHERE g.bank_id OPERATOR(pg_catalog.=) b.bank_id) p
 CROSS JOIN LATERAL (
       SELECT p.settled_upto
              OPERATOR(pg_catalog.+)
              (SELECT pg_catalog.count(*) FROM storagebox_data.claim c
                WHERE c.bank_id OPERATOR(pg_catalog.=) b.bank_id
                  AND c.slot OPERATOR(pg_catalog.>) p.settled_upto)
              OPERATOR(pg_catalog.-)
              (SELECT pg_catalog.count(*) FROM storagebox_data.claim c
                WHERE c.bank_id OPERATOR(pg_catalog.=) b.bank_id
                  AND c.dedup_id IS NULL) AS handed_out
        OFFSET 0) h;            -- computed once, not once per output column

CREATE VIEW @extschema@.sb_dispensers AS
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
