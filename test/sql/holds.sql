-- Holds that expire (1.4): sb_hold_item and sb_confirm, and what
-- sb_fetch_item, sb_release, sb_lookup and sb_banks do with a hold.  Races
-- are in test/specs.  (sb_holders: holders_export; rights: bank_rights.)
\set ECHO none
\i test/sql/include/helpers.sql
\set ECHO all
SET client_min_messages = warning;

-- The claim row of a dedup_id in a bank, read from the tables: its item and
-- hold columns.  No row: the dedup_id holds nothing there.
CREATE FUNCTION pg_temp.claim_of(p_bank text, p_dedup text,
    OUT item text, OUT held_since timestamptz, OUT hold_expires timestamptz)
LANGUAGE sql AS $$
    SELECT i.item, c.held_since, c.hold_expires
      FROM storagebox_data.bank b
      JOIN storagebox_data.claim c ON c.bank_id = b.bank_id
      JOIN storagebox_data.item i ON i.bank_id = c.bank_id AND i.slot = c.slot
     WHERE b.bank_name = p_bank AND c.dedup_id = p_dedup
$$;
-- What the row says: 'permanent', 'hold' (live), 'expired', or NULL (no row).
CREATE FUNCTION pg_temp.state_of(p_bank text, p_dedup text) RETURNS text
LANGUAGE sql AS $$
    SELECT CASE WHEN hold_expires IS NULL THEN 'permanent'
                WHEN hold_expires > clock_timestamp() THEN 'hold'
                ELSE 'expired' END
      FROM pg_temp.claim_of(p_bank, p_dedup)
$$;

SELECT sb_create_bank('hb');
SELECT sb_add_items('hb', ARRAY['seat-1', 'seat-2', 'seat-3', 'seat-4', 'seat-5']);

-- A new hold: the next item, held from now until now + hold_for
SELECT sb_hold_item('hb', 'h1', '10 minutes') AS held;
SELECT item, pg_temp.state_of('hb', 'h1') AS state,
       held_since > now() - interval '1 minute' AND held_since <= clock_timestamp() AS held_since_now,
       hold_expires = held_since + interval '10 minutes' AS expires_after_hold_for
  FROM pg_temp.claim_of('hb', 'h1');
SELECT held_since AS h1_since, hold_expires AS h1_expires FROM pg_temp.claim_of('hb', 'h1') \gset
-- it is handed out, and counted as held
SELECT * FROM regress.counts('hb');
SELECT sb_lookup('hb', 'h1') AS lookup_live_hold;

-- A repeat of the hold returns the same item and does not extend the hold,
-- even when it asks for longer
SELECT sb_hold_item('hb', 'h1', '1 hour') AS repeat_hold;
SELECT item, pg_temp.state_of('hb', 'h1') AS state,
       held_since = :'h1_since' AND hold_expires = :'h1_expires' AS unchanged
  FROM pg_temp.claim_of('hb', 'h1');
-- A fetch by the holder returns the same item, still a hold: not confirmed,
-- not extended
SELECT sb_fetch_item('hb', 'h1') AS fetch_of_held;
SELECT item, pg_temp.state_of('hb', 'h1') AS state,
       held_since = :'h1_since' AND hold_expires = :'h1_expires' AS unchanged
  FROM pg_temp.claim_of('hb', 'h1');
SELECT * FROM regress.counts('hb');

-- A hold by the holder of a permanent item returns that item, which stays
-- permanent
SELECT sb_fetch_item('hb', 'p1') AS fetched;
SELECT held_since AS p1_since FROM pg_temp.claim_of('hb', 'p1') \gset
SELECT sb_hold_item('hb', 'p1', '5 minutes') AS hold_of_permanent;
SELECT item, pg_temp.state_of('hb', 'p1') AS state, hold_expires IS NULL AS permanent,
       held_since = :'p1_since' AS held_since_unchanged
  FROM pg_temp.claim_of('hb', 'p1');
SELECT * FROM regress.counts('hb');

-- sb_confirm makes a live hold permanent and returns its item; the holder
-- and held_since stay
SELECT sb_confirm('hb', 'h1') AS confirmed;
SELECT item, pg_temp.state_of('hb', 'h1') AS state, hold_expires IS NULL AS permanent,
       held_since = :'h1_since' AS held_since_unchanged
  FROM pg_temp.claim_of('hb', 'h1');
SELECT * FROM regress.counts('hb');
-- it is idempotent: confirming a permanent item returns it, changes nothing
SELECT sb_confirm('hb', 'h1') AS confirmed_again, sb_confirm('hb', 'p1') AS confirm_of_fetched;
SELECT pg_temp.state_of('hb', 'h1') AS h1, pg_temp.state_of('hb', 'p1') AS p1;
-- a dedup_id that holds nothing: NULL, and nothing is taken
SELECT sb_confirm('hb', 'nobody') AS confirm_nothing;
SELECT sb_lookup('hb', 'nobody') AS nobody_holds, pg_temp.claim_of('hb', 'nobody') IS NULL AS no_row;
SELECT * FROM regress.counts('hb');

-- sb_release cancels a live hold: it returns the item, which is free again
SELECT sb_hold_item('hb', 'r1', '10 minutes') AS held;
SELECT * FROM regress.counts('hb');
SELECT sb_release('hb', 'r1') AS released;
SELECT sb_lookup('hb', 'r1') AS lookup_after_release,
       sb_confirm('hb', 'r1') AS confirm_after_release,
       pg_temp.claim_of('hb', 'r1') IS NULL AS no_row;
SELECT * FROM regress.counts('hb');
-- the released item goes out again (after the fresh slots)
SELECT d, sb_fetch_item('hb', d) AS item FROM unnest(ARRAY['f1', 'f2', 'f3', 'f4']) AS d;
SELECT * FROM regress.counts('hb');

-- Expiry.  Five banks of one item each and one of three: each gets a hold of
-- 10 milliseconds; the sleep, in a separate statement, lets them expire.
SELECT sb_create_bank(b) FROM unnest(ARRAY['hx_other', 'hx_again', 'hx_fetch',
    'hx_release', 'hx_confirm']) AS b;
SELECT sb_add_items(b, ARRAY[b || '-only']) FROM unnest(ARRAY['hx_other', 'hx_again',
    'hx_fetch', 'hx_release', 'hx_confirm']) AS b;
SELECT sb_create_bank('hx_mix');
SELECT sb_add_items('hx_mix', ARRAY['mix-1', 'mix-2', 'mix-3']);
SELECT sb_hold_item(b, 'x1', '10 milliseconds') AS held FROM unnest(ARRAY['hx_other',
    'hx_again', 'hx_fetch', 'hx_release', 'hx_confirm']) AS b;
-- hx_mix: one permanent item, one live hold, one hold that expires
SELECT sb_fetch_item('hx_mix', 'm-perm') AS perm, sb_hold_item('hx_mix', 'm-live', '10 minutes') AS live,
       sb_hold_item('hx_mix', 'm-gone', '10 milliseconds') AS expiring;
-- each is a hold of exactly 10 ms (whether it is still live at this point
-- depends on the machine's speed, so it is not looked at here; the long
-- holds above show a live hold seen and counted)
SELECT hold_expires = held_since + interval '10 milliseconds' AS ten_ms_hold
  FROM pg_temp.claim_of('hx_again', 'x1');
SELECT held_since AS again_since, hold_expires AS again_expires FROM pg_temp.claim_of('hx_again', 'x1') \gset
SELECT held_since AS fetch_since FROM pg_temp.claim_of('hx_fetch', 'x1') \gset
SELECT pg_sleep(0.1);

-- An expired hold holds nothing: sb_lookup is NULL, and its item counts as
-- free (items_left), neither handed out nor held
SELECT b, sb_lookup(b, 'x1') AS lookup_expired
  FROM unnest(ARRAY['hx_other', 'hx_again', 'hx_fetch', 'hx_release', 'hx_confirm']) AS b;
SELECT b, c.* FROM unnest(ARRAY['hx_other', 'hx_again', 'hx_fetch', 'hx_release',
    'hx_confirm']) AS b, regress.counts(b) c;
SELECT sb_lookup('hx_mix', 'm-perm') AS perm, sb_lookup('hx_mix', 'm-live') AS live,
       sb_lookup('hx_mix', 'm-gone') AS expired;
SELECT * FROM regress.counts('hx_mix');

-- sb_confirm of an expired hold: NULL, and it is not revived
SELECT sb_confirm('hx_confirm', 'x1') AS confirm_expired;
SELECT sb_lookup('hx_confirm', 'x1') AS lookup_after, * FROM regress.counts('hx_confirm');

-- sb_release of an expired hold: NULL (it held nothing); the item is free
SELECT sb_release('hx_release', 'x1') AS release_expired;
SELECT sb_lookup('hx_release', 'x1') AS lookup_after, * FROM regress.counts('hx_release');
SELECT sb_fetch_item('hx_release', 'y1') AS next_fetch;

-- Another dedup_id takes the expired item, the only one of its bank: the
-- bank is not sold out.  The first holder then finds it sold out.
SELECT sb_fetch_item('hx_other', 'y1') AS other_takes_expired;
SELECT pg_temp.state_of('hx_other', 'y1') AS y1, sb_lookup('hx_other', 'x1') AS x1,
       * FROM regress.counts('hx_other');
SELECT sb_hold_item('hx_other', 'x1', '10 minutes') AS x1_again_sold_out,
       sb_fetch_item('hx_other', 'x1') AS x1_fetch_sold_out;
SELECT sb_lookup('hx_other', 'x1') AS x1_holds, * FROM regress.counts('hx_other');
-- also in a bank of several: the expired item goes to the next fetch
SELECT sb_fetch_item('hx_mix', 'm-next') AS takes_expired, sb_fetch_item('hx_mix', 'm-late') AS sold_out;
SELECT * FROM regress.counts('hx_mix');

-- The first holder holding again, when nobody took the item: the same item,
-- on a new hold (held_since and hold_expires reset)
SELECT sb_hold_item('hx_again', 'x1', '10 minutes') AS same_item_again;
SELECT item, pg_temp.state_of('hx_again', 'x1') AS state,
       held_since > :'again_since' AS held_since_reset,
       hold_expires > :'again_expires' AND hold_expires = held_since + interval '10 minutes' AS new_expiry
  FROM pg_temp.claim_of('hx_again', 'x1');
SELECT * FROM regress.counts('hx_again');
-- ... and fetching, when nobody took it: the same item, now permanent
SELECT sb_fetch_item('hx_fetch', 'x1') AS same_item_fetched;
SELECT item, pg_temp.state_of('hx_fetch', 'x1') AS state, held_since > :'fetch_since' AS held_since_reset
  FROM pg_temp.claim_of('hx_fetch', 'x1');
SELECT * FROM regress.counts('hx_fetch');

-- Hostile hold_for.  Each call fails with its SQLSTATE, and nothing changes:
-- the bank's counts, claim rows and cursor are compared after.
SELECT sb_create_bank('hh');
SELECT sb_add_items('hh', ARRAY['hh-1', 'hh-2', 'hh-3', 'hh-4', 'hh-5', 'hh-6']);
SELECT sb_hold_item('hh', 'holder', '10 minutes') AS live_hold, sb_fetch_item('hh', 'owner') AS permanent;
SELECT regress.bank_state('hh') AS hh_before \gset

CREATE TEMP TABLE attack (n serial, stmt text, expected text);
INSERT INTO attack (stmt, expected) VALUES
-- hold_for
($$SELECT sb_hold_item('hh', 'new', NULL)$$, '22004'),
($$SELECT sb_hold_item('hh', 'new', interval '0')$$, '22023'),
($$SELECT sb_hold_item('hh', 'new', '0 seconds')$$, '22023'),
($$SELECT sb_hold_item('hh', 'new', '-1 microsecond')$$, '22023'),
($$SELECT sb_hold_item('hh', 'new', '-10 minutes')$$, '22023'),
($$SELECT sb_hold_item('hh', 'new', '-10 years')$$, '22023'),
-- 1 month - 31 days: zero (after a 31-day month) or negative, never positive
($$SELECT sb_hold_item('hh', 'new', '1 month -31 days')$$, '22023'),
($$SELECT sb_hold_item('hh', 'new', '1000000 years')$$, '22008'),
($$SELECT sb_hold_item('hh', 'new', '178000000 years')$$, '22008'),
($$SELECT sb_hold_item('hh', 'new', '2147483647 days')$$, '22008'),
($$SELECT sb_hold_item('hh', 'new', 'soon')$$, '22007'),
($$SELECT sb_hold_item('hh', 'new', 10)$$, '42883'),
-- the holder repeating with a bad hold_for: the same errors, its hold stays
($$SELECT sb_hold_item('hh', 'holder', NULL)$$, '22004'),
($$SELECT sb_hold_item('hh', 'holder', '0')$$, '22023'),
($$SELECT sb_hold_item('hh', 'holder', '-1 hour')$$, '22023'),
($$SELECT sb_hold_item('hh', 'holder', '1000000 years')$$, '22008'),
($$SELECT sb_hold_item('hh', 'owner', '0')$$, '22023'),
-- the other arguments, as for sb_fetch_item
($$SELECT sb_hold_item(NULL, 'new', '1 minute')$$, '22004'),
($$SELECT sb_hold_item('hh', NULL, '1 minute')$$, '22004'),
($$SELECT sb_hold_item('', 'new', '1 minute')$$, '22023'),
($$SELECT sb_hold_item('hh', '', '1 minute')$$, '22023'),
($$SELECT sb_hold_item('hh', repeat('d', 1025), '1 minute')$$, '22001'),
($$SELECT sb_hold_item(repeat('b', 201), 'new', '1 minute')$$, '22001'),
($$SELECT sb_hold_item('nope', 'new', '1 minute')$$, '42704'),
($$SELECT sb_hold_item('hh', 'new')$$, '42883'),
-- sb_confirm
($$SELECT sb_confirm(NULL, 'holder')$$, '22004'),
($$SELECT sb_confirm('hh', NULL)$$, '22004'),
($$SELECT sb_confirm('', 'holder')$$, '22023'),
($$SELECT sb_confirm('hh', '')$$, '22023'),
($$SELECT sb_confirm('hh', repeat('d', 1025))$$, '22001'),
($$SELECT sb_confirm('nope', 'holder')$$, '42704'),
($$SELECT sb_confirm('hh', 'holder', '1 hour')$$, '42883');

SELECT count(*) AS attacks FROM attack;
SELECT n, stmt, expected, split_part(regress.try(stmt), ':', 1) AS got
  FROM attack WHERE split_part(regress.try(stmt), ':', 1) IS DISTINCT FROM expected ORDER BY n;
-- the messages of the new errors
SELECT regress.try($$SELECT sb_hold_item('hh', 'new', NULL)$$) AS null_hold_for;
SELECT regress.try($$SELECT sb_hold_item('hh', 'new', '0')$$) AS zero;
SELECT regress.try($$SELECT sb_hold_item('hh', 'new', '-10 minutes')$$) AS negative;
SELECT regress.try($$SELECT sb_hold_item('hh', 'new', '1 month -31 days')$$) AS month_minus_31_days;
SELECT regress.try($$SELECT sb_hold_item('hh', 'new', '1000000 years')$$) AS huge;
-- a huge negative hold_for is refused too, as not positive or as out of range
SELECT split_part(regress.try($$SELECT sb_hold_item('hh', 'new', '-178000000 years')$$), ':', 1)
       IN ('22023', '22008') AS huge_negative_refused;

-- and nothing changed
SELECT regress.bank_state('hh') = :'hh_before' AS unchanged;
SELECT sb_lookup('hh', 'new') AS new_holds_nothing, pg_temp.state_of('hh', 'holder') AS holder,
       pg_temp.state_of('hh', 'owner') AS owner;

-- A very small positive hold_for is a hold, if a short one: it is taken,
-- with hold_expires = held_since + 1 microsecond, and is over by the next
-- statement
SELECT sb_hold_item('hh', 'tiny', '1 microsecond') IS NOT NULL AS tiny_hold_taken;
SELECT hold_expires = held_since + interval '1 microsecond' AS exact_expiry,
       pg_temp.state_of('hh', 'tiny') AS state, sb_lookup('hh', 'tiny') AS lookup
  FROM pg_temp.claim_of('hh', 'tiny');
SELECT * FROM regress.counts('hh');
-- A huge hold_for still in range (year 200,000 and more) is a hold that lasts
SELECT sb_hold_item('hh', 'long', '200000 years') IS NOT NULL AS long_hold_taken;
SELECT hold_expires = held_since + interval '200000 years' AS exact_expiry,
       pg_temp.state_of('hh', 'long') AS state, sb_lookup('hh', 'long') IS NOT NULL AS looked_up
  FROM pg_temp.claim_of('hh', 'long');
SELECT * FROM regress.counts('hh');
SELECT sb_confirm('hh', 'long') IS NOT NULL AS confirmed, pg_temp.state_of('hh', 'long') AS state;

SELECT sb_drop_bank(b) FROM unnest(ARRAY['hb', 'hx_other', 'hx_again', 'hx_fetch',
    'hx_release', 'hx_confirm', 'hx_mix', 'hh']) AS b;
DROP TABLE attack;
