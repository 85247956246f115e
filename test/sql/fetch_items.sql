-- Batch assignment (1.4): sb_fetch_items gives each distinct dedup_id what
-- sb_fetch_item would give it, taking the claims in ascending byte order of
-- dedup_id (COLLATE "C"), which is also the order of the rows.  Two batches
-- racing: test/specs.
\set ECHO none
\i test/sql/include/helpers.sql
\set ECHO all
SET client_min_messages = warning;

SELECT sb_create_bank('fi');
SELECT sb_add_items('fi', ARRAY(SELECT 'fi-' || lpad(g::text, 2, '0') FROM generate_series(1, 10) g));
-- two existing holders: a permanent item and a live hold
SELECT sb_fetch_item('fi', 'm') AS m, sb_hold_item('fi', 'h', '10 minutes') AS h;

-- One row per distinct id, in byte order ('B' < 'Z' < '_' < 'a' < 'h' < 'm'
-- < 'é', unlike most linguistic orders); new ids take the next items in that
-- order, existing holders get their own item
SELECT n, dedup_id, item
  FROM sb_fetch_items('fi', ARRAY['m', 'a', 'é', 'B', 'h', '_', 'a', 'Z', 'B', 'm'])
       WITH ORDINALITY AS t(dedup_id, item, n);
-- the hold stays a hold (not confirmed by the batch), the others are permanent
SELECT d, sb_lookup('fi', d) AS item, c.hold_expires IS NULL AS permanent
  FROM unnest(ARRAY['B', 'Z', '_', 'a', 'h', 'm', 'é']) AS d
  JOIN storagebox_data.claim c ON c.dedup_id = d
  JOIN storagebox_data.bank b ON b.bank_id = c.bank_id AND b.bank_name = 'fi'
 ORDER BY d COLLATE "C";
SELECT * FROM regress.counts('fi');
-- a repeat of the batch: the same answers, nothing more taken
SELECT n, dedup_id, item
  FROM sb_fetch_items('fi', ARRAY['a', 'B', 'é', 'Z', '_', 'h', 'm']) WITH ORDINALITY AS t(dedup_id, item, n);
SELECT * FROM regress.counts('fi');

-- An empty array: no rows, nothing taken
SELECT count(*) AS rows FROM sb_fetch_items('fi', '{}');
SELECT count(*) AS rows FROM sb_fetch_items('fi', ARRAY[]::text[]);
SELECT * FROM regress.counts('fi');

-- Sold out: the ids past the last item get NULL and hold nothing; ids that
-- already hold an item still get it
SELECT sb_create_bank('fs');
SELECT sb_add_items('fs', ARRAY['fs-1', 'fs-2', 'fs-3']);
SELECT sb_fetch_item('fs', 'u9') AS u9;
SELECT n, dedup_id, item
  FROM sb_fetch_items('fs', ARRAY['u5', 'u4', 'u3', 'u2', 'u1', 'u9']) WITH ORDINALITY AS t(dedup_id, item, n);
SELECT sb_lookup('fs', 'u3') AS u3_holds, sb_lookup('fs', 'u4') AS u4_holds, * FROM regress.counts('fs');
SELECT n, dedup_id, item
  FROM sb_fetch_items('fs', ARRAY['u6', 'u1']) WITH ORDINALITY AS t(dedup_id, item, n);

-- Expired holds: an id whose own expired hold nobody took gets that item
-- again, now permanent; an expired hold of another id is a free item for the
-- batch (here the only one left)
SELECT sb_create_bank('fe');
SELECT sb_add_items('fe', ARRAY['fe-1', 'fe-2', 'fe-3']);
SELECT sb_hold_item('fe', 'old', '10 milliseconds') AS old, sb_hold_item('fe', 'a-own', '10 milliseconds') AS own,
       sb_fetch_item('fe', 'perm') AS perm;
SELECT pg_sleep(0.1);
SELECT * FROM regress.counts('fe');
SELECT n, dedup_id, item
  FROM sb_fetch_items('fe', ARRAY['c-late', 'b-new', 'a-own']) WITH ORDINALITY AS t(dedup_id, item, n);
SELECT sb_lookup('fe', 'old') AS old_holds, c.hold_expires IS NULL AS own_permanent
  FROM storagebox_data.claim c JOIN storagebox_data.bank b USING (bank_id)
 WHERE b.bank_name = 'fe' AND c.dedup_id = 'a-own';
SELECT * FROM regress.counts('fe');

-- Bad input: the SQLSTATE of each call, and nothing taken (the valid ids
-- before and after a bad element hold nothing; the bank's counts, claims and
-- cursor do not move)
SELECT sb_create_bank('fx');
SELECT sb_add_items('fx', ARRAY['fx-1', 'fx-2', 'fx-3']);
SELECT sb_fetch_item('fx', 'holder') AS holder;
SELECT regress.bank_state('fx') AS fx_before \gset
SELECT regress.try($$SELECT * FROM sb_fetch_items('fx', NULL)$$) AS null_array;
SELECT regress.try($$SELECT * FROM sb_fetch_items('fx', ARRAY[NULL]::text[])$$) AS null_element;
SELECT regress.try($$SELECT * FROM sb_fetch_items('fx', ARRAY['a', NULL, 'z'])$$) AS null_among_others;
SELECT regress.try($$SELECT * FROM sb_fetch_items(NULL, ARRAY['a'])$$) AS null_bank;
SELECT regress.try($$SELECT * FROM sb_fetch_items('nope', ARRAY['a'])$$) AS unknown_bank;
SELECT regress.try($$SELECT * FROM sb_fetch_items('', ARRAY['a'])$$) AS empty_bank_name;
SELECT regress.try($$SELECT * FROM sb_fetch_items('fx', 'not an array')$$) AS not_an_array;
-- an invalid element: the SQLSTATE that sb_fetch_item gives for it (the
-- message may say which element)
SELECT regress.try($$SELECT * FROM sb_fetch_items('fx', ARRAY['a', '', 'z'])$$) AS batch,
       regress.try($$SELECT sb_fetch_item('fx', '')$$) AS single;
SELECT split_part(regress.try($$SELECT * FROM sb_fetch_items('fx', ARRAY['a', '', 'z'])$$), ':', 1)
     = split_part(regress.try($$SELECT sb_fetch_item('fx', '')$$), ':', 1) AS same_sqlstate_empty;
SELECT regress.try($$SELECT * FROM sb_fetch_items('fx', ARRAY['a', repeat('d', 1025), 'z'])$$) AS batch,
       regress.try($$SELECT sb_fetch_item('fx', repeat('d', 1025))$$) AS single;
SELECT split_part(regress.try($$SELECT * FROM sb_fetch_items('fx', ARRAY['a', repeat('d', 1025), 'z'])$$), ':', 1)
     = split_part(regress.try($$SELECT sb_fetch_item('fx', repeat('d', 1025))$$), ':', 1) AS same_sqlstate_too_long;
-- and nothing changed
SELECT sb_lookup('fx', 'a') AS a_holds, sb_lookup('fx', 'z') AS z_holds;
SELECT regress.bank_state('fx') = :'fx_before' AS unchanged;
-- the longest valid dedup_id is taken
SELECT dedup_id = repeat('d', 1024) AS longest_id, item
  FROM sb_fetch_items('fx', ARRAY[repeat('d', 1024)]);
SELECT sb_release('fx', repeat('d', 1024)) AS released;

-- 1,000,000 ids on a bank of 100 items: one row each, exactly 100 get an
-- item, each item once, and the ones that get them are the first 100 in
-- byte order
SELECT sb_create_bank('fbig');
SELECT sb_add_items('fbig', ARRAY(SELECT 'big-' || g FROM generate_series(1, 100) g));
CREATE TEMP TABLE big AS
SELECT n, dedup_id, item
  FROM sb_fetch_items('fbig', ARRAY(SELECT 'user-' || g FROM generate_series(1, 1000000) g))
       WITH ORDINALITY AS t(dedup_id, item, n);
SELECT count(*) AS rows, count(DISTINCT dedup_id) AS distinct_ids, count(item) AS with_item,
       count(DISTINCT item) AS distinct_items,
       count(*) FILTER (WHERE item IS NOT NULL AND n > 100) AS items_past_first_100
  FROM big;
SELECT bool_and(dedup_id COLLATE "C" > prev COLLATE "C") AS ascending_byte_order
  FROM (SELECT dedup_id, lag(dedup_id) OVER (ORDER BY n) AS prev FROM big) s WHERE prev IS NOT NULL;
SELECT (SELECT array_agg(dedup_id ORDER BY n) FROM big WHERE n <= 100)
     = (SELECT array_agg(d ORDER BY d COLLATE "C") FROM (SELECT 'user-' || g AS d
          FROM generate_series(1, 1000000) g ORDER BY ('user-' || g) COLLATE "C" LIMIT 100) s) AS first_100_in_byte_order;
SELECT * FROM regress.counts('fbig');
-- every holder is as the batch said
SELECT count(*) AS holders, count(*) FILTER (WHERE sb_lookup('fbig', dedup_id) IS DISTINCT FROM item) AS differ
  FROM big WHERE item IS NOT NULL;
-- a batch of 1,000,000 copies of one id is one row
SELECT count(*) AS rows, min(item) AS item
  FROM sb_fetch_items('fbig', array_fill('user-1'::text, ARRAY[1000000]));
DROP TABLE big;

SELECT sb_drop_bank(b) FROM unnest(ARRAY['fi', 'fs', 'fe', 'fx', 'fbig']) AS b;
