/* storagebox_sql 1.7 -> 2.0: one version for both flavours */

\echo Use "ALTER EXTENSION storagebox_sql UPDATE TO '2.0'" to load this file. \quit

-- 2.0 is the version of both flavours from this release on (the C flavour
-- loses its setting storagebox.citus_direct).  A function that 2.0 changes
-- is replaced here with CREATE OR REPLACE FUNCTION, which keeps its oid and
-- its grants.

-- The burst fixes of 2.0 (the SQL flavour's fetch protocol, described in
-- the comment above claim_empty_slot below and in docs/design.md):
--  - a slot claim holds the slot lock at session level while it looks at
--    the slot and inserts, and keeps it to the end of the transaction only
--    once its claim row is in (claim_empty_slot replaces lock_empty_slot
--    and claim_slot): a claim that fails writes nothing and holds nothing,
--    where 1.7 wrote a free row into the slot and kept the lock, so that a
--    single fetch counted as holding a claim and could fail with 40001;
--  - locking reads that end in no claim run in a subtransaction that is
--    undone (claim_row, lock_own): PostgreSQL keeps the lock of a row that
--    failed the recheck after a concurrent change, and such stray locks
--    made fetches that wait for a row wait for each other (40P01);
--  - held_item counts a fetch that keeps its own row locked as holding a
--    claim, whatever the row (1.7: only a hold);
--  - claim_row looks for a free row with a plain read before it starts its
--    subtransaction;
--  - sold_out and restricted, which every fetch calls, are PL/pgSQL: as SQL
--    functions with subqueries they were never inlined, so PostgreSQL
--    planned their bodies again in every statement that called them (in
--    one single-client pgbench run, a sold-out answer took 334 us, then
--    163 us; a repeat 110 us, then 67 us);
--  - a wait for a slot's claimer is made beside the other waiters, in
--    share mode (claim_empty_slot), not in an exclusive queue that hands
--    the lock on one by one;
--  - the Citus guard reads pg_extension only where Citus is installed
--    (require_local_node).
-- fetch_new calls the new function.

/*
 * sb_fetch_item(bank, dedup_id) and sb_hold_item(bank, dedup_id, hold_for):
 * the item dedup_id holds in the bank's scope, else a new item, else NULL
 * when nothing is left.  A hold lasts while clock_timestamp() is before its
 * hold_expires; a hold past it holds nothing and its item is free.
 *
 * Where a new item comes from, as in the C flavour (src/bank/fetch.c, docs/design.md):
 *  1. the cursor (a sequence): a fresh slot, no queue;
 *  2. once the cursor is past the end: released items (free claim rows,
 *     FOR UPDATE SKIP LOCKED), then holes (slots above the watermark
 *     without a claim row: rolled back, lost a race, skipped by a crash),
 *     then expired holds of other dedup_ids, oldest expiry first (FOR
 *     UPDATE SKIP LOCKED; the row is taken over in place).
 * The dedup_id's own expired hold is renewed in place before any of these:
 * the same item, permanent for a fetch, a new hold for a hold.  The two
 * unique indexes of the claim table arbitrate every race.
 *
 * Slot locks.  PL/pgSQL cannot read other transactions' uncommitted rows
 * (the C flavour's dirty snapshot), so a slot being claimed right now
 * looks like a hole.  Every claim of a slot without a claim row therefore
 * goes through claim_empty_slot, which holds the slot's advisory lock
 * (1935827201, slot key) while it looks at the slot and inserts, and
 * keeps it to the end of the transaction only once its claim row is in:
 * a fetch that cannot get it treats the slot as taken (fast path) or as
 * held uncommitted (slow path).  The slot key is (bank_id * 1000003 +
 * slot) mod 2^32, shifted into int4; a collision only makes a fetch skip a
 * slot for now (it stays a hole and is claimed later) or wait for one more
 * transaction.  Rows that exist (released items, holds) are arbitrated by
 * their row locks.
 *
 * A transaction "holds an uncommitted claim" (the transaction-local setting
 * storagebox_sql.claimed) once it has claimed a slot, taken over a free row
 * or an expired hold, written any claim row (a renewal, a confirm, a
 * release) or locked its own claim row: every row or slot lock that other
 * fetches may wait for is held only by such transactions.  A claim that
 * failed leaves nothing behind and does not count.

 * Rights.  A row that the dedup_id holds in another bank of the scope than
 * the one named is answered, renewed, confirmed or released only if the
 * caller has the right on that bank too (check_right by bank id), checked
 * before anything is written; the writes name that bank's row.
 *
 * Waits, as in the C flavour, and no others:
 *  (a) inside the claim INSERT or UPDATE, for a transaction claiming the
 *      same dedup_id (the unique index makes it wait), and on the row lock
 *      of the dedup_id's own live or permanent row (sb_confirm,
 *      sb_release, a renewal of the same dedup_id);
 *  (b) when nothing is free but slots, released items or expired holds held
 *      uncommitted by other transactions, for one of them (a slot lock,
 *      waited for in share mode beside the other waiters and claimed only
 *      if the slot is still empty, in exclusive mode after 4 such rounds;
 *      or FOR UPDATE on the row, let go at once), then look again;
 *      only when this transaction holds no uncommitted claim, otherwise
 *      NULL at once.  A fetch that waited for a slot lock claims that slot
 *      at once if it is still empty (claim_empty_slot), before it looks
 *      anywhere else.  Likewise a fetch whose own expired hold is being
 *      taken over right now (its row is locked) waits for that transaction
 *      only when it holds no uncommitted claim; otherwise it fails with
 *      40001, since its claim insert would have to wait for the taker.
 * Liveness: a transaction-level slot lock is only ever held by a
 * transaction whose uncommitted claim row is in that slot; the
 * session-level lock that claim_empty_slot takes first is held only while
 * it looks at the slot with a fresh snapshot and inserts, and is let go
 * however that ends.  Inside, the only wait is the insert's wait (a) for a
 * transaction claiming the same dedup_id, which holds an uncommitted claim
 * and so never waits (b) for anybody.  So a fetch that waits for a slot
 * lock waits for a transaction that holds a claim in that slot, or is
 * inserting one, and ends without waiting for the waiter; when it ends,
 * the slot has a committed row, or is a hole again and the waiter claims
 * it.  Until 1.7 the waiter looked elsewhere first and could answer while
 * keeping the lock of a hole to the end of its transaction, making later
 * fetches wait for a transaction that was not filling it
 * (test/specs/hole_waiters_sql.spec).  A transaction without an
 * uncommitted claim holds no row lock either: a locking read (FOR UPDATE,
 * with or without SKIP LOCKED) that meets a row another transaction has
 * just changed locks its newest version before it rechecks the conditions,
 * and PostgreSQL keeps that lock when the recheck fails; so every locking
 * read that does not end in a claim or a kept lock runs in a subtransaction
 * that is then undone (claim_row, lock_own, wait_for_row).  Until 2.0 such
 * stray locks made wait-(b) waiters wait for each other (40P01 in
 * test/t/090_burst.pl).  Until 2.0, too, a claim that lost its
 * dedup_id to another transaction kept the slot lock and wrote a free row
 * into the slot, so that a single fetch counted as holding a claim and
 * failed with 40001 when its own expired hold was being taken over
 * (test/t/090_burst.pl).
 * Every wait but (a) is made by a transaction without an uncommitted claim
 * for a transaction with one, which never makes such a wait; so every edge
 * of a wait-for cycle would be a wait (a), for a shared dedup_id: no cycle
 * for distinct dedup_ids, as argued in docs/design.md.  A
 * taker of an expired hold never waits for its row (SKIP LOCKED); the
 * owner's row lock it skips is a wait (a) edge of the owner only.
 */
/*
 * Claim the empty slot p_slot of p_bank for p_dedup_id, under its slot lock.
 * The lock is first taken at session level (waiting for it when p_wait,
 * else o_busy says that somebody holds it), and the slot is looked at under
 * it with a fresh snapshot: a survey's older snapshot may show a slot empty
 * that was filled and committed since.  In an empty slot the claim row is
 * inserted; only then is the lock moved to the transaction, and in every
 * case the session-level lock is let go before returning.  So a
 * transaction-level slot lock is only ever held by a transaction whose
 * uncommitted claim is in that slot, and a failed claim (the slot was
 * filled, or the dedup_id was claimed and committed meanwhile: o_item NULL)
 * leaves nothing behind: no row, no lock.  Inside, the only wait is the
 * insert's for a transaction claiming the same dedup_id (wait (a)); an
 * error lets the session-level lock go too.
 */
CREATE FUNCTION storagebox_data.claim_empty_slot(p_bank integer, p_slot bigint, p_scope integer,
                                                 p_dedup_id text, p_hold_for interval, p_wait boolean,
                                                 OUT o_item text, OUT o_busy boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k integer := ((p_bank::bigint OPERATOR(pg_catalog.*) 1000003 OPERATOR(pg_catalog.+) p_slot)
                  OPERATOR(pg_catalog.%) 4294967296 OPERATOR(pg_catalog.-) 2147483648)::integer;
    v_item text;
    v_now  timestamptz;
    v_locked boolean := false;
BEGIN
    o_busy := false;
    IF p_wait THEN
        -- Wait for the slot lock's holder to end beside every other waiter
        -- (a shared request, let go in the same statement: the waiters are
        -- woken together, not handed the lock one by one), then claim the
        -- slot if it is still empty and nobody holds its lock.  After a few
        -- such rounds, queue as a claimer (an exclusive request): every
        -- holder and every claimer queued ahead then fills the slot or
        -- leaves it at once, so the queue ends (docs/design.md).
        FOR v_round IN 1..4 LOOP
            PERFORM pg_catalog.pg_advisory_unlock_shared(1935827201, k)
               FROM pg_catalog.pg_advisory_lock_shared(1935827201, k);
            IF EXISTS (SELECT FROM storagebox_data.claim c
                        WHERE c.bank_id OPERATOR(pg_catalog.=) p_bank
                          AND c.slot OPERATOR(pg_catalog.=) p_slot) THEN
                RETURN;
            END IF;
            v_locked := pg_catalog.pg_try_advisory_lock(1935827201, k);
            EXIT WHEN v_locked;
        END LOOP;
        IF NOT v_locked THEN
            PERFORM pg_catalog.pg_advisory_lock(1935827201, k);
        END IF;
    ELSIF NOT pg_catalog.pg_try_advisory_lock(1935827201, k) THEN
        o_busy := true;
        RETURN;
    END IF;
    BEGIN
        IF NOT EXISTS (SELECT FROM storagebox_data.claim c
                        WHERE c.bank_id OPERATOR(pg_catalog.=) p_bank
                          AND c.slot OPERATOR(pg_catalog.=) p_slot) THEN
            -- the claim row carries a copy of its item (items never change)
            SELECT i.item INTO v_item FROM storagebox_data.item i
             WHERE i.bank_id OPERATOR(pg_catalog.=) p_bank
               AND i.slot OPERATOR(pg_catalog.=) p_slot;
            v_now := pg_catalog.clock_timestamp();
            INSERT INTO storagebox_data.claim AS c (bank_id, slot, scope_id, dedup_id, item,
                                                    held_since, hold_expires)
            VALUES (p_bank, p_slot, p_scope, p_dedup_id, v_item,
                    v_now, v_now OPERATOR(pg_catalog.+) p_hold_for)
            ON CONFLICT DO NOTHING;
            IF FOUND THEN
                PERFORM pg_catalog.pg_advisory_xact_lock(1935827201, k);
                PERFORM pg_catalog.set_config('storagebox_sql.claimed', 'on', true);
                o_item := v_item;
            END IF;
        END IF;
        PERFORM pg_catalog.pg_advisory_unlock(1935827201, k);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        PERFORM pg_catalog.pg_advisory_unlock(1935827201, k);
        RAISE;
    END;
END
$$;

REVOKE ALL ON FUNCTION storagebox_data.claim_empty_slot(integer, bigint, integer, text, interval, boolean) FROM PUBLIC;

-- Take over one row of the bank for p_dedup_id without waiting for it:
-- with p_expired false a released item (the lowest slot), with p_expired
-- true a hold expired by now (the oldest expiry).  NULL when there is
-- none that nobody is taking, or when our dedup_id was claimed meanwhile
-- (the unique violation undoes the takeover: the row stays as it was, and
-- the caller looks again).
CREATE OR REPLACE FUNCTION storagebox_data.claim_row(p_bank integer, p_scope integer, p_dedup_id text,
                                          p_hold_for interval, p_expired boolean)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_slot bigint;
    v_item text;
    v_now  timestamptz := pg_catalog.clock_timestamp();
BEGIN
    -- a plain look first: the claim below runs in a subtransaction, which a
    -- fetch under a burst would otherwise start on every look only to find
    -- nothing free (a row another transaction is taking is found here, and
    -- skipped below)
    IF p_expired THEN
        PERFORM FROM storagebox_data.claim f
         WHERE f.bank_id OPERATOR(pg_catalog.=) p_bank
           AND f.hold_expires OPERATOR(pg_catalog.<=) v_now
         LIMIT 1;
    ELSE
        PERFORM FROM storagebox_data.claim f
         WHERE f.bank_id OPERATOR(pg_catalog.=) p_bank AND f.dedup_id IS NULL
         LIMIT 1;
    END IF;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    BEGIN
        IF p_expired THEN
            SELECT f.slot, f.item INTO v_slot, v_item FROM storagebox_data.claim f
             WHERE f.bank_id OPERATOR(pg_catalog.=) p_bank
               AND f.hold_expires OPERATOR(pg_catalog.<=) v_now
             ORDER BY f.hold_expires LIMIT 1
               FOR UPDATE SKIP LOCKED;
        ELSE
            SELECT f.slot, f.item INTO v_slot, v_item FROM storagebox_data.claim f
             WHERE f.bank_id OPERATOR(pg_catalog.=) p_bank AND f.dedup_id IS NULL
             ORDER BY f.slot LIMIT 1
               FOR UPDATE SKIP LOCKED;
        END IF;
        IF NOT FOUND THEN
            -- undo the subtransaction: the scan may have locked a row that
            -- another transaction changed meanwhile and that then failed
            -- the recheck (PostgreSQL keeps such a lock), and a fetch that
            -- holds no claim must hold no row lock (wait (b))
            RAISE SQLSTATE 'SBW02';
        END IF;
        v_now := pg_catalog.clock_timestamp();
        UPDATE storagebox_data.claim AS c
           SET scope_id = p_scope, dedup_id = p_dedup_id,
               held_since = v_now, hold_expires = v_now OPERATOR(pg_catalog.+) p_hold_for
         WHERE c.bank_id OPERATOR(pg_catalog.=) p_bank
           AND c.slot OPERATOR(pg_catalog.=) v_slot;
    EXCEPTION WHEN SQLSTATE 'SBW02' THEN
        RETURN NULL;
    WHEN unique_violation THEN
        -- a committed row holds our dedup_id's key: under REPEATABLE READ
        -- and SERIALIZABLE one this snapshot cannot see (expired or not)
        -- would make the fetch look again for ever
        IF pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.<>) 'read committed'
           AND NOT EXISTS (SELECT FROM storagebox_data.claim c
                            WHERE c.scope_id OPERATOR(pg_catalog.=) p_scope
                              AND c.dedup_id OPERATOR(pg_catalog.=) p_dedup_id) THEN
            RAISE EXCEPTION 'could not serialize access due to a concurrent claim for the same dedup_id'
                USING ERRCODE = 'serialization_failure',
                      HINT = 'Retry the transaction.';
        END IF;
        RETURN NULL;
    END;
    PERFORM pg_catalog.set_config('storagebox_sql.claimed', 'on', true);
    RETURN v_item;
END
$$;

/*
 * The row p_dedup_id holds in scope p_scope, in bank p_bank (the bank whose
 * right was checked), locked FOR UPDATE: o_slot is NULL when there is none.  The row of a live or permanent claim is waited
 * for (only the same dedup_id's sb_confirm, sb_release or renewal can hold
 * it: a taker locks a hold only once it has expired); o_busy says that the
 * row is an expired hold locked by another transaction (a taker, or the
 * same dedup_id), which was not waited for.
 */
CREATE OR REPLACE FUNCTION storagebox_data.lock_own(p_scope integer, p_dedup_id text, p_bank integer,
                                         OUT o_bank integer, OUT o_slot bigint, OUT o_item text,
                                         OUT o_expires timestamptz, OUT o_busy boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    o_busy := false;
    LOOP
        -- Each locking read runs in a subtransaction that is undone when
        -- it finds no row: a row that another transaction changed meanwhile
        -- (taken over, released) fails the recheck but stays locked, and
        -- nothing may be left locked by a call that holds no claim.
        BEGIN
            SELECT c.bank_id, c.slot, c.item, c.hold_expires INTO o_bank, o_slot, o_item, o_expires
              FROM storagebox_data.claim c
             WHERE c.scope_id OPERATOR(pg_catalog.=) p_scope
               AND c.dedup_id OPERATOR(pg_catalog.=) p_dedup_id
               AND c.bank_id OPERATOR(pg_catalog.=) p_bank
               FOR UPDATE SKIP LOCKED;
            IF FOUND THEN
                RETURN;
            END IF;
            RAISE SQLSTATE 'SBW02';
        EXCEPTION WHEN SQLSTATE 'SBW02' THEN
            NULL;
        END;
        SELECT c.bank_id, c.slot, c.item, c.hold_expires INTO o_bank, o_slot, o_item, o_expires
          FROM storagebox_data.claim c
         WHERE c.scope_id OPERATOR(pg_catalog.=) p_scope
           AND c.dedup_id OPERATOR(pg_catalog.=) p_dedup_id
           AND c.bank_id OPERATOR(pg_catalog.=) p_bank;
        IF NOT FOUND THEN
            o_slot := NULL;
            RETURN;
        END IF;
        -- locked by another transaction; the clock is read after the lock
        -- was refused, so a hold still live now was not locked by a taker
        IF o_expires OPERATOR(pg_catalog.<=) pg_catalog.clock_timestamp() THEN
            o_busy := true;
            RETURN;
        END IF;
        BEGIN
            SELECT c.bank_id, c.slot, c.item, c.hold_expires INTO o_bank, o_slot, o_item, o_expires
              FROM storagebox_data.claim c
             WHERE c.scope_id OPERATOR(pg_catalog.=) p_scope
               AND c.dedup_id OPERATOR(pg_catalog.=) p_dedup_id
               AND c.bank_id OPERATOR(pg_catalog.=) p_bank
               FOR UPDATE;
            IF FOUND THEN
                RETURN;
            END IF;
            RAISE SQLSTATE 'SBW02';
        EXCEPTION WHEN SQLSTATE 'SBW02' THEN
            NULL;
        END;
    END LOOP;
END
$$;

/*
 * The item p_dedup_id holds in scope p_scope, or NULL.  Its own expired
 * hold that nobody took is renewed in place: the same item, permanent when
 * p_hold_for is NULL, else on a new hold.  A row in another bank of the
 * scope than p_bank needs p_caller's right on that bank.
 */
CREATE OR REPLACE FUNCTION storagebox_data.held_item(p_bank integer, p_scope integer, p_dedup_id text,
                                          p_hold_for interval, p_caller name)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_item    text;
    v_expires timestamptz;
    v_row_bank integer;
    v_ok      boolean;
    o         record;
    v_now     timestamptz;
BEGIN
    LOOP
        SELECT c.item, c.hold_expires, c.bank_id INTO v_item, v_expires, v_row_bank
          FROM storagebox_data.claim c
         WHERE c.scope_id OPERATOR(pg_catalog.=) p_scope
           AND c.dedup_id OPERATOR(pg_catalog.=) p_dedup_id;
        IF NOT FOUND THEN
            RETURN NULL;
        END IF;
        v_ok := storagebox_data.check_right(p_bank, v_row_bank, p_caller, 'USAGE');
        IF v_expires IS NULL OR v_expires OPERATOR(pg_catalog.>) pg_catalog.clock_timestamp() THEN
            RETURN v_item;
        END IF;
        -- an expired hold of our own: renew it, unless it is being taken
        o := storagebox_data.lock_own(p_scope, p_dedup_id, v_row_bank);
        IF o.o_slot IS NULL THEN
            RETURN NULL;
        END IF;
        IF o.o_busy THEN
            IF pg_catalog.current_setting('storagebox_sql.claimed', true) OPERATOR(pg_catalog.=) 'on' THEN
                RAISE EXCEPTION 'could not serialize access due to a concurrent takeover of the expired hold of the same dedup_id'
                    USING ERRCODE = 'serialization_failure',
                          DETAIL = 'Another transaction is taking over the item whose hold expired, and this transaction already holds uncommitted items.',
                          HINT = 'Retry the transaction.';
            END IF;
            PERFORM storagebox_data.wait_for_row(o.o_bank, o.o_slot);
            CONTINUE;
        END IF;
        -- the row is locked to the end of the transaction: a fetch of the
        -- same dedup_id may wait for it (wait (a))
        PERFORM pg_catalog.set_config('storagebox_sql.claimed', 'on', true);
        v_now := pg_catalog.clock_timestamp();
        IF o.o_expires IS NOT NULL AND o.o_expires OPERATOR(pg_catalog.<=) v_now THEN
            UPDATE storagebox_data.claim AS c
               SET held_since = v_now, hold_expires = v_now OPERATOR(pg_catalog.+) p_hold_for
             WHERE c.bank_id OPERATOR(pg_catalog.=) o.o_bank
               AND c.slot OPERATOR(pg_catalog.=) o.o_slot;
        END IF;
        RETURN o.o_item;
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION storagebox_data.fetch_new(v_bank integer, v_scope integer, v_cursor regclass,
                                          v_total bigint, p_dedup_id text, p_hold_for interval,
                                          p_caller name)
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
    v_busy    boolean;
    v_hint    text;
    v_first   boolean := true;
    v_now     timestamptz;
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
        IF v_slot OPERATOR(pg_catalog.<=) v_total THEN
            SELECT e.o_item, e.o_busy INTO v_item, v_busy
              FROM storagebox_data.claim_empty_slot(v_bank, v_slot, v_scope, p_dedup_id, p_hold_for, false) e;
            IF v_item IS NOT NULL THEN
                RETURN v_item;
            END IF;
            IF NOT v_busy THEN
                v_first := false;
                EXIT;
            END IF;
        END IF;
    END LOOP;

    -- fast path: a fresh slot from the cursor
    LOOP
        IF NOT v_first THEN
            v_item := storagebox_data.held_item(v_bank, v_scope, p_dedup_id, p_hold_for, p_caller);
            IF v_item IS NOT NULL THEN
                RETURN v_item;
            END IF;
        END IF;
        v_first := false;
        v_slot := pg_catalog.nextval(v_cursor);
        EXIT WHEN v_slot OPERATOR(pg_catalog.>) v_total;
        SELECT e.o_item, e.o_busy INTO v_item, v_busy
          FROM storagebox_data.claim_empty_slot(v_bank, v_slot, v_scope, p_dedup_id, p_hold_for, false) e;
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
            v_item := storagebox_data.held_item(v_bank, v_scope, p_dedup_id, p_hold_for, p_caller);
            IF v_item IS NOT NULL THEN
                RETURN v_item;
            END IF;
        END IF;
        v_first := false;

        -- 1. a released item nobody is taking
        v_item := storagebox_data.claim_row(v_bank, v_scope, p_dedup_id, p_hold_for, false);
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
                SELECT e.o_item, e.o_busy INTO v_item, v_busy
                  FROM storagebox_data.claim_empty_slot(v_bank, v_slot, v_scope, p_dedup_id, p_hold_for, false) e;
                IF v_item IS NOT NULL THEN
                    RETURN v_item;
                ELSIF NOT v_busy THEN
                    -- claimed and committed since we looked, or our dedup_id
                    -- was given an item meanwhile
                    v_item := storagebox_data.held_item(v_bank, v_scope, p_dedup_id, p_hold_for, p_caller);
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

        -- 3. expired holds of others, oldest expiry first
        v_item := storagebox_data.claim_row(v_bank, v_scope, p_dedup_id, p_hold_for, true);
        IF v_item IS NOT NULL THEN
            RETURN v_item;
        END IF;

        -- 4. nothing free: wait (b), or sold out
        IF pg_catalog.current_setting('storagebox_sql.claimed', true) OPERATOR(pg_catalog.=) 'on' THEN
            RETURN NULL;
        END IF;
        IF v_pending IS NOT NULL THEN
            -- queue for the slot lock as a claimer: once it is ours, the
            -- slot's claimer has ended, and the slot is claimed at once if
            -- it is still empty, so that a slot lock is only ever held by a
            -- transaction with a claim in that slot
            SELECT e.o_item INTO v_item
              FROM storagebox_data.claim_empty_slot(v_bank, v_pending, v_scope, p_dedup_id, p_hold_for, true) e;
            IF v_item IS NOT NULL THEN
                RETURN v_item;
            END IF;
            CONTINUE;
        END IF;
        SELECT f.slot INTO v_slot FROM storagebox_data.claim f
         WHERE f.bank_id OPERATOR(pg_catalog.=) v_bank AND f.dedup_id IS NULL
         LIMIT 1;
        IF NOT FOUND THEN
            -- an expired hold is being taken (or renewed by its own
            -- dedup_id) by another transaction: wait for it
            v_now := pg_catalog.clock_timestamp();
            SELECT f.slot INTO v_slot FROM storagebox_data.claim f
             WHERE f.bank_id OPERATOR(pg_catalog.=) v_bank
               AND f.hold_expires OPERATOR(pg_catalog.<=) v_now
             ORDER BY f.hold_expires LIMIT 1;
            IF NOT FOUND THEN
                RETURN NULL;
            END IF;
            PERFORM storagebox_data.wait_for_row(v_bank, v_slot);
            CONTINUE;
        END IF;
        -- a released item is being taken by another transaction: wait for
        -- it, and let its row lock go at once (wait_for_row), so that this
        -- transaction holds nothing another one may wait for
        PERFORM storagebox_data.wait_for_row(v_bank, v_slot);
    END LOOP;
END
$$;

-- Whether the bank is sold out as far as committed data goes at p_now:
-- every slot up to p_total has a committed claim (the watermark is at the
-- end), no item was released and no hold has expired.  PL/pgSQL, so that
-- its plan is kept for the session (see the top of this file).
CREATE OR REPLACE FUNCTION storagebox_data.sold_out(p_bank integer, p_total bigint, p_now timestamptz)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN (SELECT pg_catalog.max(g.settled_upto) FROM storagebox_data.bank_progress g
             WHERE g.bank_id OPERATOR(pg_catalog.=) p_bank) OPERATOR(pg_catalog.>=) p_total
       AND NOT EXISTS (SELECT FROM storagebox_data.claim f
                        WHERE f.bank_id OPERATOR(pg_catalog.=) p_bank AND f.dedup_id IS NULL)
       AND NOT EXISTS (SELECT FROM storagebox_data.claim f
                        WHERE f.bank_id OPERATOR(pg_catalog.=) p_bank
                          AND f.hold_expires OPERATOR(pg_catalog.<=) p_now);
END
$$;

-- Whether a bank is restricted: its cursor has an ACL (one catalog probe).
-- A sequence has none until something is granted on it, and keeps one,
-- listing its owner, after the last grant is revoked: the bank stays
-- closed until the cursor is granted to PUBLIC.  PL/pgSQL, as sold_out.
CREATE OR REPLACE FUNCTION storagebox_data.restricted(p_cursor regclass)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN EXISTS (SELECT FROM pg_catalog.pg_class k
                    WHERE k.oid OPERATOR(pg_catalog.=) p_cursor::pg_catalog.oid
                      AND k.relacl IS NOT NULL);
END
$$;

-- The Citus guard (1.5), which every call runs: without Citus it is meant
-- to be one to_regclass() call, but in 1.5 to 1.7 the test of pg_extension
-- was in the same expression, so every call locked pg_extension (and, while
-- planning, its indexes): three of the sixteen relation locks a backend
-- takes without the shared lock table, which a fetch needs for its own
-- tables (under a burst, waits for the lock table's partition locks were
-- the SQL flavour's most frequent).  The 1.5 function, renamed, now runs
-- only where Citus is installed.
ALTER FUNCTION storagebox_data.require_local_node() RENAME TO require_local_node_on_citus;

CREATE FUNCTION storagebox_data.require_local_node()
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NOT NULL THEN
        PERFORM storagebox_data.require_local_node_on_citus();
    END IF;
END
$$;

REVOKE ALL ON FUNCTION storagebox_data.require_local_node() FROM PUBLIC;

DROP FUNCTION storagebox_data.lock_empty_slot(integer, bigint, boolean);
DROP FUNCTION storagebox_data.claim_slot(integer, bigint, integer, text, interval);
