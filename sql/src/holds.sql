
/*
 * 1.4: sb_confirm and sb_holders (sb_hold_item is in banks.sql, with the
 * fetch it shares its path with).  Like sb_fetch_item, they run as the
 * caller and pass CURRENT_USER to their bodies, which check the bank's
 * rights for that role.
 */

-- sb_confirm(bank, dedup_id): a live hold becomes permanent; a permanent
-- item stays so; both return the item.  NULL when dedup_id holds nothing
-- (no claim, or a hold past its expiry).  A row in another bank of the
-- scope needs the right on that bank too.
CREATE FUNCTION storagebox_data.confirm(p_bank text, p_dedup_id text, p_caller name)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b storagebox_data.bank;
    v_ok boolean;
    v_item text;
    v_expires timestamptz;
    v_row_bank integer;
    o record;
    v_state text;
    v_msg text;
    v_detail text;
    v_hint text;
BEGIN
    IF pg_catalog.current_setting('transaction_read_only') OPERATOR(pg_catalog.=) 'on' THEN
        RAISE EXCEPTION 'cannot execute sb_confirm() in a read-only transaction'
            USING ERRCODE = 'read_only_sql_transaction';
    END IF;
    b := storagebox_data.bank_by_name(p_bank, false);
    p_dedup_id := storagebox_data.checked_name('dedup_id', p_dedup_id);
    v_ok := storagebox_data.check_right(p_bank, b.cursor_seq, p_caller, 'USAGE', false);
    BEGIN
        SELECT c.item, c.hold_expires, c.bank_id INTO v_item, v_expires, v_row_bank
          FROM storagebox_data.claim c
         WHERE c.scope_id OPERATOR(pg_catalog.=) b.scope_id
           AND c.dedup_id OPERATOR(pg_catalog.=) p_dedup_id;
        v_ok := storagebox_data.check_right(b.bank_id, v_row_bank, p_caller, 'USAGE');
        IF v_expires IS NULL THEN
            RETURN v_item;          -- permanent, or nothing held
        ELSIF v_expires OPERATOR(pg_catalog.<=) pg_catalog.clock_timestamp() THEN
            RETURN NULL;
        END IF;
        -- a live hold: lock it (waiting only for the same dedup_id) and
        -- decide on what it is now
        o := storagebox_data.lock_own(b.scope_id, p_dedup_id, v_row_bank);
        IF o.o_slot IS NULL OR o.o_busy THEN
            RETURN NULL;
        ELSIF o.o_expires IS NULL THEN
            RETURN o.o_item;
        END IF;
        PERFORM pg_catalog.set_config('storagebox_sql.claimed', 'on', true);
        IF o.o_expires OPERATOR(pg_catalog.<=) pg_catalog.clock_timestamp() THEN
            RETURN NULL;
        END IF;
        UPDATE storagebox_data.claim AS c
           SET hold_expires = NULL
         WHERE c.bank_id OPERATOR(pg_catalog.=) o.o_bank
           AND c.slot OPERATOR(pg_catalog.=) o.o_slot;
        RETURN o.o_item;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT,
                                v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        v_msg := storagebox_data.reraise(v_state, v_msg, v_detail, v_hint);
    END;
END
$$;

CREATE FUNCTION @extschema@.sb_confirm(bank text, dedup_id text)
RETURNS text
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT storagebox_data.confirm(bank, dedup_id, CURRENT_USER);
END;

-- sb_holders(bank): every dedup_id holding an item of the bank, permanent
-- or on a live hold, in slot order.  Needs the bank's read right (SELECT on
-- its cursor) whether or not the bank is restricted.  The rows go through
-- a tuplestore, which spills to disk beyond work_mem.
CREATE FUNCTION storagebox_data.holders(p_bank text, p_caller name)
RETURNS TABLE (o_dedup_id text, o_item text, o_held_since timestamptz, o_hold_expires timestamptz)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b storagebox_data.bank;
    v_ok boolean;
    v_now timestamptz := pg_catalog.clock_timestamp();
BEGIN
    b := storagebox_data.bank_by_name(p_bank, false);
    v_ok := storagebox_data.check_right(p_bank, b.cursor_seq, p_caller, 'SELECT', true);
    RETURN QUERY
        SELECT c.dedup_id, c.item, c.held_since, c.hold_expires
          FROM storagebox_data.claim c
         WHERE c.bank_id OPERATOR(pg_catalog.=) b.bank_id
           AND c.dedup_id IS NOT NULL
           AND (c.hold_expires IS NULL OR c.hold_expires OPERATOR(pg_catalog.>) v_now)
         ORDER BY c.slot;
END
$$;

CREATE FUNCTION @extschema@.sb_holders(bank text)
RETURNS TABLE (dedup_id text, item text, held_since timestamptz, hold_expires timestamptz)
LANGUAGE sql STABLE ROWS 1000
BEGIN ATOMIC
    SELECT * FROM storagebox_data.holders(bank, CURRENT_USER);
END;
