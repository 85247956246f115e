-- The guarantees that one session can show; races are in test/specs,
-- crashes, restore and replicas in test/t.

-- expected/guarantees_1.out: the SQL flavour, whose read-only refusals are
-- raised in PL/pgSQL (storagebox_data.fetch_item, storagebox_data.release),
-- so they carry a CONTEXT line.
SET client_min_messages = warning;

-- The true counts, by counting rows, to hold the view's kept counts against.
CREATE FUNCTION pg_temp.true_counts(p_bank text,
    OUT items bigint, OUT handed_out bigint, OUT free bigint)
LANGUAGE sql AS $$
    SELECT (SELECT count(*) FROM storagebox_data.item i WHERE i.bank_id = b.bank_id),
           (SELECT count(*) FROM storagebox_data.claim c
             WHERE c.bank_id = b.bank_id AND c.dedup_id IS NOT NULL),
           (SELECT count(*) FROM storagebox_data.item i WHERE i.bank_id = b.bank_id)
         - (SELECT count(*) FROM storagebox_data.claim c
             WHERE c.bank_id = b.bank_id AND c.dedup_id IS NOT NULL)
      FROM storagebox_data.bank b WHERE b.bank_name = p_bank
$$;
CREATE FUNCTION pg_temp.conserved(p_bank text) RETURNS boolean
LANGUAGE sql AS $$
    SELECT v.items_total = t.items
       AND v.items_handed_out = t.handed_out
       AND v.items_left = t.free
       AND v.items_total = v.items_left + v.items_handed_out
      FROM sb_banks v, pg_temp.true_counts(p_bank) t
     WHERE v.bank = p_bank
$$;

SELECT sb_create_bank('g');
SELECT sb_add_items('g', ARRAY(SELECT 'item-' || g FROM generate_series(1, 1000) g));

-- 3. Transactional: a rolled back fetch leaves the item in the bank
BEGIN;
SELECT sb_fetch_item('g', 'rolled-back') AS taken_then_rolled_back;
ROLLBACK;
SELECT sb_lookup('g', 'rolled-back') AS holds_nothing,
       items_handed_out, items_left, pg_temp.conserved('g')
  FROM sb_banks WHERE bank = 'g';
-- ... also when only a savepoint rolls back
BEGIN;
SAVEPOINT s;
SELECT sb_fetch_item('g', 'savepoint') AS taken_in_savepoint;
ROLLBACK TO SAVEPOINT s;
SELECT sb_fetch_item('g', 'kept') AS kept;
COMMIT;
SELECT sb_lookup('g', 'savepoint') AS savepoint_holds, sb_lookup('g', 'kept') AS kept_holds;

-- 4. Conservation while handing out, releasing and rolling back
SELECT count(sb_fetch_item('g', 'user-' || g)) AS fetched
  FROM generate_series(1, 600) g;
SELECT count(sb_release('g', 'user-' || g)) AS released
  FROM generate_series(1, 600, 7) g;
BEGIN;
SELECT count(sb_fetch_item('g', 'doomed-' || g)) AS doomed FROM generate_series(1, 50) g;
ROLLBACK;
SELECT items_total, items_handed_out, items_left, pg_temp.conserved('g')
  FROM sb_banks WHERE bank = 'g';

-- 6. The watermark follows the cursor, so sb_banks counts only a short tail:
-- after 600 fetches no more than about 2 x 256 slots lie past it.
SELECT max(settled_upto) >= 600 - 2 * 256 AS watermark_follows
  FROM storagebox_data.bank_progress p JOIN storagebox_data.bank b USING (bank_id)
 WHERE b.bank_name = 'g';

-- Drain the bank: the slots of rolled back fetches and released items are
-- all handed out in the end, each exactly once, and then it is sold out.
SELECT count(sb_fetch_item('g', 'drain-' || g)) AS drained,
       count(*) - count(sb_fetch_item('g', 'drain-' || g)) AS nulls
  FROM generate_series(1, 1000) g;
SELECT items_total, items_handed_out, items_left, pg_temp.conserved('g')
  FROM sb_banks WHERE bank = 'g';
-- 1. Exactly once: every item has one holder, every holder one item
SELECT count(*) AS claims, count(DISTINCT slot) AS slots,
       count(DISTINCT dedup_id) AS holders
  FROM storagebox_data.claim c JOIN storagebox_data.bank b USING (bank_id)
 WHERE b.bank_name = 'g';
SELECT sb_fetch_item('g', 'one-more') AS sold_out;
SELECT max(settled_upto) = max(items_total) AS fully_settled
  FROM storagebox_data.bank_progress p JOIN storagebox_data.bank b USING (bank_id)
 WHERE b.bank_name = 'g';

-- 2. Idempotent: every repeat returns what was recorded
SELECT count(*) AS mismatches
  FROM storagebox_data.claim c JOIN storagebox_data.item i USING (bank_id, slot)
 WHERE c.dedup_id IS NOT NULL
   AND sb_fetch_item('g', c.dedup_id) IS DISTINCT FROM i.item;

-- 7. The same calls work under REPEATABLE READ and SERIALIZABLE
SELECT sb_create_bank('iso');
SELECT sb_add_items('iso', ARRAY['i1', 'i2', 'i3']);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT sb_fetch_item('iso', 'rr') AS rr, sb_fetch_item('iso', 'rr') AS rr_again;
SELECT sb_release('iso', 'rr') AS rr_released;
COMMIT;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT sb_fetch_item('iso', 'ser') AS ser;
SELECT sb_lookup('iso', 'ser') AS ser_lookup;
COMMIT;
SELECT items_handed_out, items_left, pg_temp.conserved('iso') FROM sb_banks WHERE bank = 'iso';

-- A fetch in a read-only transaction is refused before it takes anything.
BEGIN READ ONLY;
SELECT sb_fetch_item('iso', 'ro');
ROLLBACK;
BEGIN READ ONLY;
SELECT sb_lookup('iso', 'ser') AS lookup_is_read_only;
ROLLBACK;
-- and so is a release
BEGIN READ ONLY;
SELECT sb_release('iso', 'ser');
ROLLBACK;
SELECT sb_lookup('iso', 'ser') AS ser_still_holds;

-- A repeat never answers from a stale snapshot: released earlier in the
-- same statement, the dedup_id gets a new item, not the one it gave back.
SELECT sb_create_bank('stale');
SELECT sb_add_items('stale', ARRAY['st-1', 'st-2']);
SELECT sb_fetch_item('stale', 'x') AS first;
SELECT sb_release('stale', 'x') AS released, sb_fetch_item('stale', 'x') AS fetched_after;
SELECT sb_lookup('stale', 'x') AS x_holds, items_handed_out, items_left
  FROM sb_banks WHERE bank = 'stale';
SELECT sb_drop_bank('stale');

SELECT sb_drop_bank('g');
SELECT sb_drop_bank('iso');
