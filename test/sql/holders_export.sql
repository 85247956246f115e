-- The holder export (1.4): sb_holders lists every dedup_id holding an item
-- of a bank -- permanent items and live holds, not expired holds or released
-- items -- ordered by slot, and streams to \copy.  (Who may call it:
-- bank_rights.)
\set ECHO none
\i test/sql/include/helpers.sql
\set ECHO all
SET client_min_messages = warning;

SELECT sb_create_bank('ho');
SELECT sb_add_items('ho', ARRAY['ho-1', 'ho-2', 'ho-3', 'ho-4', 'ho-5', 'ho-6', 'ho-7']);
-- an empty bank, or one without holders, has no rows
SELECT count(*) AS no_holders_yet FROM sb_holders('ho');
SELECT sb_fetch_item('ho', 'c') AS c_fetched,
       sb_hold_item('ho', 'a', '10 minutes') AS a_held,
       sb_fetch_item('ho', 'b') AS b_fetched,
       sb_hold_item('ho', 'e', '10 milliseconds') AS e_held_briefly,
       sb_fetch_item('ho', 'd') AS d_fetched,
       sb_hold_item('ho', 'f', '10 minutes') AS f_held;
SELECT sb_release('ho', 'd') AS d_released, sb_confirm('ho', 'f') AS f_confirmed;
SELECT pg_sleep(0.1);

-- c, b, f: permanent (hold_expires NULL); a: a live hold; e's hold expired
-- and d released: not listed.  Rows come in slot order, held_since is set
-- for every claim made by 1.4.
SELECT n, dedup_id, item, held_since IS NOT NULL AS has_held_since,
       held_since > now() - interval '1 minute' AS held_since_recent,
       hold_expires IS NULL AS permanent,
       hold_expires = held_since + interval '10 minutes' AS hold_until
  FROM sb_holders('ho') WITH ORDINALITY AS t(dedup_id, item, held_since, hold_expires, n);
-- the same as sb_lookup says, one by one
SELECT d, sb_lookup('ho', d) AS lookup,
       (SELECT item FROM sb_holders('ho') h WHERE h.dedup_id = d) AS listed
  FROM unnest(ARRAY['a', 'b', 'c', 'd', 'e', 'f']) AS d;
SELECT items_handed_out, items_held, (SELECT count(*) FROM sb_holders('ho')) AS listed,
       (SELECT count(*) FILTER (WHERE hold_expires IS NOT NULL) FROM sb_holders('ho')) AS listed_holds
  FROM sb_banks WHERE bank = 'ho';

-- The free items go out again (the fresh slot, then the released item, then
-- the expired hold); the list stays in slot order, not the order of the claims
SELECT sb_fetch_item('ho', 'g') AS g, sb_fetch_item('ho', 'h') AS h;
SELECT sb_fetch_item('ho', 'i') AS i, sb_fetch_item('ho', 'j') AS j_sold_out;
SELECT n, dedup_id, item, hold_expires IS NULL AS permanent
  FROM sb_holders('ho') WITH ORDINALITY AS t(dedup_id, item, held_since, hold_expires, n);

-- Bad calls
SELECT regress.try($$SELECT * FROM sb_holders(NULL)$$) AS null_bank;
SELECT regress.try($$SELECT * FROM sb_holders('')$$) AS empty_name;
SELECT regress.try($$SELECT * FROM sb_holders('nope')$$) AS unknown_bank;
SELECT regress.try($$SELECT * FROM sb_holders(repeat('b', 201))$$) AS long_name;

-- \copy to CSV, as the README shows it.  The times of the claims are set to
-- fixed values here (by the test, in the table) so that the output is stable;
-- CSV quotes the commas and quotes of the data.
SELECT sb_create_bank('ho_csv');
SELECT sb_add_items('ho_csv', ARRAY['csv-1', 'csv,2', 'csv"3']);
SELECT sb_fetch_item('ho_csv', 'alice@example.com'), sb_hold_item('ho_csv', 'o"brien, jr', '10 minutes'),
       sb_fetch_item('ho_csv', 'Ünïcödé ✓');
UPDATE storagebox_data.claim c
   SET held_since = '2026-01-02 03:04:05.678+00',
       hold_expires = CASE WHEN c.hold_expires IS NOT NULL THEN timestamptz '2999-12-31 23:59:59+00' END
  FROM storagebox_data.bank b WHERE b.bank_id = c.bank_id AND b.bank_name = 'ho_csv';
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
\copy (SELECT * FROM sb_holders('ho_csv')) TO stdout CSV HEADER
RESET DateStyle;
RESET TimeZone;

-- A larger bank: 20,000 holders.  With work_mem at its minimum the export
-- still returns every row: what it keeps goes to a temporary file, memory
-- stays bounded.
SELECT sb_create_bank('ho_big');
SELECT sb_add_items('ho_big', ARRAY(SELECT 'big-' || g FROM generate_series(1, 20000) g));
-- Assigned in 4 batches of 5,000, each its own transaction: the SQL
-- flavour holds one lock per new item until its transaction ends (README,
-- "What differs from the C build").
CREATE TEMP TABLE ho_assigned (n bigint);
SELECT format('INSERT INTO ho_assigned SELECT count(item) FROM sb_fetch_items(%L, '
              'ARRAY(SELECT %L || g FROM generate_series(%s, %s) g))',
              'ho_big', 'user-', c * 5000 + 1, c * 5000 + 5000)
  FROM generate_series(0, 3) c \gexec
SELECT count(*) AS batches, sum(n) AS assigned FROM ho_assigned;
CREATE FUNCTION pg_temp.temp_blocks_written(q text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    p json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ' || q INTO p;
    RETURN (p -> 0 -> 'Plan' ->> 'Temp Written Blocks')::bigint;
END
$$;
SET work_mem = '64kB';
SELECT count(*) AS holders, count(DISTINCT item) AS items, count(*) FILTER (WHERE hold_expires IS NULL) AS permanent,
       bool_and(held_since IS NOT NULL) AS all_have_held_since
  FROM sb_holders('ho_big');
-- in slot order all along
SELECT bool_and(n = substr(item, 5)::bigint) AS slot_order
  FROM sb_holders('ho_big') WITH ORDINALITY AS t(dedup_id, item, held_since, hold_expires, n);
SELECT pg_temp.temp_blocks_written($$SELECT count(*) FROM sb_holders('ho_big')$$) > 0 AS spilled;
RESET work_mem;

SELECT sb_drop_bank(b) FROM unnest(ARRAY['ho', 'ho_csv', 'ho_big']) AS b;
