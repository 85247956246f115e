
-- The bulk insert of sb_add_items: new items get the slots after
-- items_total in the order of their first appearance in the array; items
-- already in the bank, or repeated, are skipped.  The caller holds the bank
-- row locked, so slots stay contiguous.
CREATE FUNCTION storagebox_data.load_items(bank_id integer, items_total bigint, items text[])
RETURNS bigint
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    added bigint;
BEGIN
    INSERT INTO storagebox_data.item AS t (bank_id, slot, item)
    SELECT load_items.bank_id,
           load_items.items_total OPERATOR(pg_catalog.+)
               pg_catalog.row_number() OVER (ORDER BY d.ord),
           d.x
      FROM (SELECT DISTINCT ON (u.x) u.x, u.ord
              FROM (SELECT e.x COLLATE "C" AS x, e.ord
                      FROM pg_catalog.unnest(items) WITH ORDINALITY AS e(x, ord)) u
             ORDER BY u.x, u.ord) d
     WHERE NOT EXISTS (SELECT FROM storagebox_data.item i
                        WHERE i.bank_id OPERATOR(pg_catalog.=) load_items.bank_id
                          AND i.item OPERATOR(pg_catalog.=) d.x);
    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added;
END
$$;

/*
 * Raise the watermark of a bank over the slots up to p_upto that have a
 * committed claim row, looking at no more than 4096 slots above it.  Reads
 * under the statement's snapshot (a visible claim row is committed, or our
 * own: then the watermark row is ours too and shares its fate), never
 * waits: older watermark rows are pruned with SKIP LOCKED.
 */
CREATE FUNCTION storagebox_data.settle(p_bank_id integer, p_upto bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    w     bigint;
    limit_slot bigint;
    first_gap bigint;
BEGIN
    SELECT pg_catalog.max(g.settled_upto) INTO w FROM storagebox_data.bank_progress g
     WHERE g.bank_id OPERATOR(pg_catalog.=) p_bank_id;
    IF w IS NULL OR w OPERATOR(pg_catalog.>=) p_upto THEN
        RETURN w;
    END IF;
    limit_slot := LEAST(p_upto, w OPERATOR(pg_catalog.+) 4096);
    SELECT pg_catalog.min(s) INTO first_gap
      FROM pg_catalog.generate_series(w OPERATOR(pg_catalog.+) 1, limit_slot) AS s
     WHERE NOT EXISTS (SELECT FROM storagebox_data.claim c
                        WHERE c.bank_id OPERATOR(pg_catalog.=) p_bank_id
                          AND c.slot OPERATOR(pg_catalog.=) s);
    IF first_gap IS NULL THEN
        first_gap := limit_slot OPERATOR(pg_catalog.+) 1;
    ELSE
        -- holes: this backend's next fetches of the bank try them first
        -- (up to 16, kept in the session setting storagebox_sql.holes as
        -- "bank_id:slot,slot,...")
        PERFORM pg_catalog.set_config('storagebox_sql.holes',
            p_bank_id::text OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||)
            (SELECT pg_catalog.string_agg(h.s::text, ',')
               FROM (SELECT s FROM pg_catalog.generate_series(first_gap, limit_slot) AS s
                      WHERE NOT EXISTS (SELECT FROM storagebox_data.claim c
                                         WHERE c.bank_id OPERATOR(pg_catalog.=) p_bank_id
                                           AND c.slot OPERATOR(pg_catalog.=) s)
                      ORDER BY s LIMIT 16) h), false);
    END IF;
    IF first_gap OPERATOR(pg_catalog.-) 1 OPERATOR(pg_catalog.>) w THEN
        w := first_gap OPERATOR(pg_catalog.-) 1;
        INSERT INTO storagebox_data.bank_progress (bank_id, settled_upto) VALUES (p_bank_id, w);
        DELETE FROM storagebox_data.bank_progress g
         WHERE g.ctid OPERATOR(pg_catalog.=) ANY (ARRAY(
               SELECT o.ctid FROM storagebox_data.bank_progress o
                WHERE o.bank_id OPERATOR(pg_catalog.=) p_bank_id
                  AND o.settled_upto OPERATOR(pg_catalog.<) w
                  FOR UPDATE SKIP LOCKED));
    END IF;
    RETURN w;
END
$$;

/*
 * sb_fetch_item(bank, dedup_id): the item dedup_id holds in the bank's
 * scope, else a new item, else NULL when nothing is left.
 *
 * Where a new item comes from, as in the C flavour (src/bank_fetch.c):
 *  1. the cursor (a sequence): a fresh slot, no queue;
 *  2. once the cursor is past the end: released items (free claim rows,
 *     FOR UPDATE SKIP LOCKED), then holes (slots above the watermark
 *     without a claim row: rolled back, lost a race, skipped by a crash).
 * The two unique indexes of the claim table arbitrate every race.
 *
 * Slot locks.  PL/pgSQL cannot read other transactions' uncommitted rows
 * (the C flavour's dirty snapshot), so a slot being claimed right now
 * looks like a hole.  Every claim of a slot therefore first takes the
 * transaction-level advisory lock (@SB_LOCK_SLOT@, slot key) with
 * pg_try_advisory_xact_lock, never waiting: a fetch that cannot get it
 * treats the slot as taken (fast path) or as held uncommitted (slow path).
 * The slot key is (bank_id * 1000003 + slot) mod 2^32, shifted into int4;
 * a collision only makes a fetch skip a slot for now (it stays a hole and
 * is claimed later) or wait for one more transaction.
 *
 * Waits, as in the C flavour, and no others:
 *  (a) inside the claim INSERT, for a transaction claiming the same
 *      dedup_id (the unique index makes it wait);
 *  (b) when nothing is free but slots or released items held uncommitted by
 *      other transactions, for one of them (a blocking slot lock, or FOR
 *      UPDATE on the free row), then look again; only when this transaction
 *      holds no uncommitted claim of its own (the transaction-local setting
 *      storagebox_sql.claimed), otherwise NULL at once.
 * Every holder of a slot lock holds an uncommitted claim row on that slot
 * (a lost race for the dedup_id turns the slot into a free row), so both
 * waits are for transactions that never make wait (b): no cycle for
 * distinct dedup_ids, as argued at the top of src/bank_fetch.c.
 */
CREATE FUNCTION storagebox_data.claim_slot(p_bank integer, p_slot bigint, p_scope integer, p_dedup_id text)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_item text;
BEGIN
    -- claim p_slot (its slot lock is ours) for p_dedup_id; NULL when the slot
    -- or the dedup_id was taken by a committed claim.  A slot we hold but
    -- could not claim because the dedup_id went to someone else becomes a
    -- free row, so that every slot lock is held by an uncommitted claim.
    -- the claim row carries a copy of its item (items never change)
    SELECT i.item INTO v_item FROM storagebox_data.item i
     WHERE i.bank_id OPERATOR(pg_catalog.=) p_bank
       AND i.slot OPERATOR(pg_catalog.=) p_slot;
    INSERT INTO storagebox_data.claim AS c (bank_id, slot, scope_id, dedup_id, item)
    VALUES (p_bank, p_slot, p_scope, p_dedup_id, v_item)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        INSERT INTO storagebox_data.claim AS c (bank_id, slot, scope_id, dedup_id, item)
        VALUES (p_bank, p_slot, NULL, NULL, v_item)
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            PERFORM pg_catalog.set_config('storagebox_sql.claimed', 'on', true);
        END IF;
        RETURN NULL;
    END IF;
    PERFORM pg_catalog.set_config('storagebox_sql.claimed', 'on', true);
    RETURN v_item;
END
$$;

CREATE FUNCTION storagebox_data.claim_free(p_bank integer, p_scope integer, p_dedup_id text)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_slot bigint;
    v_item text;
BEGIN
    -- a released item of the bank that nobody is taking right now
    SELECT f.slot INTO v_slot FROM storagebox_data.claim f
     WHERE f.bank_id OPERATOR(pg_catalog.=) p_bank AND f.dedup_id IS NULL
     ORDER BY f.slot LIMIT 1
       FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    BEGIN
        UPDATE storagebox_data.claim AS c
           SET scope_id = p_scope, dedup_id = p_dedup_id
         WHERE c.bank_id OPERATOR(pg_catalog.=) p_bank
           AND c.slot OPERATOR(pg_catalog.=) v_slot;
    EXCEPTION WHEN unique_violation THEN
        -- our dedup_id was claimed meanwhile; the caller looks again
        RETURN NULL;
    END;
    PERFORM pg_catalog.set_config('storagebox_sql.claimed', 'on', true);
    SELECT i.item INTO v_item FROM storagebox_data.item i
     WHERE i.bank_id OPERATOR(pg_catalog.=) p_bank
       AND i.slot OPERATOR(pg_catalog.=) v_slot;
    RETURN v_item;
END
$$;

-- The new-item part of sb_fetch_item (below): the fast path, then the slow
-- path.  NULL means sold out.
CREATE FUNCTION storagebox_data.fetch_new(v_bank integer, v_scope integer, v_cursor regclass,
                                          v_total bigint, p_dedup_id text)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_slot    bigint;
    v_item    text;
    v_w       bigint;
    v_pending bigint;
    v_holes   boolean;
    v_hint    text;
    v_first   boolean := true;
BEGIN
    -- the holes the last survey of this backend saw
    v_hint := pg_catalog.current_setting('storagebox_sql.holes', true);
    WHILE v_hint OPERATOR(pg_catalog.~) ':[0-9]' LOOP
        v_slot := SUBSTRING(v_hint FROM ':([0-9]+)')::bigint;
        IF pg_catalog.split_part(v_hint, ':', 1) OPERATOR(pg_catalog.<>) v_bank::text THEN
            EXIT;
        END IF;
        v_hint := pg_catalog.regexp_replace(v_hint, ':[0-9]+,?', ':');
        PERFORM pg_catalog.set_config('storagebox_sql.holes', v_hint, false);
        IF v_slot OPERATOR(pg_catalog.<=) v_total
           AND pg_catalog.pg_try_advisory_xact_lock(@SB_LOCK_SLOT@,
               ((v_bank::bigint OPERATOR(pg_catalog.*) 1000003 OPERATOR(pg_catalog.+) v_slot)
                OPERATOR(pg_catalog.%) 4294967296 OPERATOR(pg_catalog.-) 2147483648)::integer) THEN
            v_item := storagebox_data.claim_slot(v_bank, v_slot, v_scope, p_dedup_id);
            IF v_item IS NOT NULL THEN
                RETURN v_item;
            END IF;
            v_first := false;
            EXIT;
        END IF;
    END LOOP;

    -- fast path: a fresh slot from the cursor
    LOOP
        IF NOT v_first THEN
            v_item := storagebox_data.held_item(v_scope, p_dedup_id);
            IF v_item IS NOT NULL THEN
                RETURN v_item;
            END IF;
        END IF;
        v_first := false;
        v_slot := pg_catalog.nextval(v_cursor);
        EXIT WHEN v_slot OPERATOR(pg_catalog.>) v_total;
        CONTINUE WHEN NOT pg_catalog.pg_try_advisory_xact_lock(@SB_LOCK_SLOT@,
            ((v_bank::bigint OPERATOR(pg_catalog.*) 1000003 OPERATOR(pg_catalog.+) v_slot)
             OPERATOR(pg_catalog.%) 4294967296 OPERATOR(pg_catalog.-) 2147483648)::integer);
        v_item := storagebox_data.claim_slot(v_bank, v_slot, v_scope, p_dedup_id);
        IF v_item IS NOT NULL THEN
            IF v_slot OPERATOR(pg_catalog.%) 256 OPERATOR(pg_catalog.=) 0
               AND pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.=) 'read committed' THEN
                PERFORM storagebox_data.settle(v_bank, v_slot OPERATOR(pg_catalog.-) 1);
            END IF;
            RETURN v_item;
        END IF;
        -- the slot went to someone else (the cursor was moved back by
        -- sb_add_items), or our dedup_id to a transaction that committed
    END LOOP;

    -- slow path: the cursor is past the end of the bank
    v_first := true;
    LOOP
        IF NOT v_first THEN
            v_item := storagebox_data.held_item(v_scope, p_dedup_id);
            IF v_item IS NOT NULL THEN
                RETURN v_item;
            END IF;
        END IF;
        v_first := false;

        -- 1. a released item nobody is taking
        v_item := storagebox_data.claim_free(v_bank, v_scope, p_dedup_id);
        IF v_item IS NOT NULL THEN
            RETURN v_item;
        END IF;

        -- 2. holes above the watermark
        SELECT pg_catalog.max(g.settled_upto) INTO v_w FROM storagebox_data.bank_progress g
         WHERE g.bank_id OPERATOR(pg_catalog.=) v_bank;
        v_pending := NULL;
        v_holes := false;
        IF v_w OPERATOR(pg_catalog.<) v_total THEN
            FOR v_slot IN
                SELECT s FROM pg_catalog.generate_series(v_w OPERATOR(pg_catalog.+) 1, v_total) AS s
                 WHERE NOT EXISTS (SELECT FROM storagebox_data.claim c
                                    WHERE c.bank_id OPERATOR(pg_catalog.=) v_bank
                                      AND c.slot OPERATOR(pg_catalog.=) s)
            LOOP
                v_holes := true;
                IF pg_catalog.pg_try_advisory_xact_lock(@SB_LOCK_SLOT@,
                       ((v_bank::bigint OPERATOR(pg_catalog.*) 1000003 OPERATOR(pg_catalog.+) v_slot)
                        OPERATOR(pg_catalog.%) 4294967296 OPERATOR(pg_catalog.-) 2147483648)::integer) THEN
                    v_item := storagebox_data.claim_slot(v_bank, v_slot, v_scope, p_dedup_id);
                    IF v_item IS NOT NULL THEN
                        RETURN v_item;
                    END IF;
                    -- claimed and committed since we looked, or our dedup_id
                    -- was given an item meanwhile
                    v_item := storagebox_data.held_item(v_scope, p_dedup_id);
                    IF v_item IS NOT NULL THEN
                        RETURN v_item;
                    END IF;
                ELSIF v_pending IS NULL THEN
                    v_pending := v_slot;
                END IF;
            END LOOP;
            IF NOT v_holes THEN
                -- every slot has a committed claim row: later sold-out
                -- answers need not look again
                PERFORM storagebox_data.settle(v_bank, v_total);
            END IF;
        END IF;

        -- 3. nothing free: wait (b), or sold out
        IF pg_catalog.current_setting('storagebox_sql.claimed', true) OPERATOR(pg_catalog.=) 'on' THEN
            RETURN NULL;
        END IF;
        IF v_pending IS NOT NULL THEN
            PERFORM pg_catalog.pg_advisory_xact_lock(@SB_LOCK_SLOT@,
                ((v_bank::bigint OPERATOR(pg_catalog.*) 1000003 OPERATOR(pg_catalog.+) v_pending)
                 OPERATOR(pg_catalog.%) 4294967296 OPERATOR(pg_catalog.-) 2147483648)::integer);
            CONTINUE;
        END IF;
        SELECT f.slot INTO v_slot FROM storagebox_data.claim f
         WHERE f.bank_id OPERATOR(pg_catalog.=) v_bank AND f.dedup_id IS NULL
         LIMIT 1;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        -- a released item is being taken by another transaction: wait for it
        PERFORM FROM storagebox_data.claim f
         WHERE f.bank_id OPERATOR(pg_catalog.=) v_bank
           AND f.slot OPERATOR(pg_catalog.=) v_slot
           AND f.dedup_id IS NULL
           FOR UPDATE;
    END LOOP;
END
$$;

-- The item p_dedup_id holds in scope p_scope, or NULL.
CREATE FUNCTION storagebox_data.held_item(p_scope integer, p_dedup_id text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_item text;
BEGIN
    SELECT c.item INTO v_item
      FROM storagebox_data.claim c
     WHERE c.scope_id OPERATOR(pg_catalog.=) p_scope
       AND c.dedup_id OPERATOR(pg_catalog.=) p_dedup_id;
    RETURN v_item;
END
$$;

CREATE FUNCTION @extschema@.sb_fetch_item(bank text, dedup_id text)
RETURNS text
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_bank    integer;
    v_scope   integer;
    v_cursor  regclass;
    v_total   bigint;
    v_item    text;
    v_state   text;
    v_msg     text;
    v_detail  text;
    v_hint    text;
BEGIN
    -- the checks run (and raise) only for a bad argument
    IF bank IS NULL OR dedup_id IS NULL
       OR pg_catalog.octet_length(bank) OPERATOR(pg_catalog.=) 0
       OR pg_catalog.octet_length(bank) OPERATOR(pg_catalog.>) 200
       OR pg_catalog.octet_length(dedup_id) OPERATOR(pg_catalog.=) 0
       OR pg_catalog.octet_length(dedup_id) OPERATOR(pg_catalog.>) 1024 THEN
        IF bank IS NOT NULL AND dedup_id IS NULL THEN
            dedup_id := storagebox_data.checked_name('dedup_id', dedup_id);
        END IF;
        bank := storagebox_data.checked_name('bank', bank);
        dedup_id := storagebox_data.checked_name('dedup_id', dedup_id);
    END IF;
    IF pg_catalog.current_setting('transaction_read_only') OPERATOR(pg_catalog.=) 'on' THEN
        RAISE EXCEPTION 'cannot execute sb_fetch_item() in a read-only transaction'
            USING ERRCODE = 'read_only_sql_transaction';
    END IF;

    SELECT t.bank_id, t.scope_id, t.cursor_seq, t.items_total
      INTO v_bank, v_scope, v_cursor, v_total
      FROM storagebox_data.bank t
     WHERE t.bank_name OPERATOR(pg_catalog.=) bank;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'bank "%" does not exist', bank
            USING ERRCODE = 'undefined_object',
                  HINT = 'Create it with sb_create_bank().';
    END IF;

    -- a repeat: one index probe (the claim row carries its item)
    SELECT c.item INTO v_item FROM storagebox_data.claim c
     WHERE c.scope_id OPERATOR(pg_catalog.=) v_scope
       AND c.dedup_id OPERATOR(pg_catalog.=) sb_fetch_item.dedup_id;
    IF v_item IS NOT NULL THEN
        RETURN v_item;
    END IF;

    -- sold out as far as committed data goes: every slot has a committed
    -- claim (the watermark is at the end) and no item was released.  No
    -- slot is drawn from the cursor for this answer.
    IF (SELECT pg_catalog.max(g.settled_upto) FROM storagebox_data.bank_progress g
         WHERE g.bank_id OPERATOR(pg_catalog.=) v_bank) OPERATOR(pg_catalog.>=) v_total
       AND NOT EXISTS (SELECT FROM storagebox_data.claim f
                        WHERE f.bank_id OPERATOR(pg_catalog.=) v_bank AND f.dedup_id IS NULL) THEN
        RETURN NULL;
    END IF;

    -- a new item.  An error inside (a lock_timeout, a cancel, a
    -- serialization failure) reaches the caller with this function's line
    -- as its context, never the text of an internal statement.
    BEGIN
        RETURN storagebox_data.fetch_new(v_bank, v_scope, v_cursor, v_total, dedup_id);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT,
                                v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        IF v_detail OPERATOR(pg_catalog.=) '' AND v_hint OPERATOR(pg_catalog.=) '' THEN
            RAISE USING ERRCODE = v_state, MESSAGE = v_msg;
        ELSIF v_hint OPERATOR(pg_catalog.=) '' THEN
            RAISE USING ERRCODE = v_state, MESSAGE = v_msg, DETAIL = v_detail;
        ELSIF v_detail OPERATOR(pg_catalog.=) '' THEN
            RAISE USING ERRCODE = v_state, MESSAGE = v_msg, HINT = v_hint;
        ELSE
            RAISE USING ERRCODE = v_state, MESSAGE = v_msg, DETAIL = v_detail, HINT = v_hint;
        END IF;
    END;
END
$$;
