-- Hostile input: bad calls at every function.  Each gets its SQLSTATE and
-- nothing changes: sb_banks and sb_dispensers are compared before and after.
\set ECHO none
\i test/sql/include/helpers.sql
\set ECHO all
SET client_min_messages = warning;

SELECT sb_create_bank('h');
SELECT sb_create_bank('h2', 'hscope');
SELECT sb_add_items('h', ARRAY['h1', 'h2', 'h3']);
SELECT sb_add_items('h2', ARRAY['x1']);
SELECT sb_fetch_item('h', 'holder'), sb_fetch_item('h2', 'holder');
SELECT sb_create_dispenser('hd', 'forward', 1, 10);
SELECT sb_next('hd', 3);

CREATE TEMP TABLE banks_before AS SELECT * FROM sb_banks;
CREATE TEMP TABLE dispensers_before AS SELECT * FROM sb_dispensers;
CREATE TEMP TABLE claims_before AS SELECT * FROM storagebox_data.claim;
CREATE TEMP TABLE items_before AS SELECT * FROM storagebox_data.item;

CREATE TEMP TABLE attack (n serial, stmt text, expected text);
INSERT INTO attack (stmt, expected) VALUES
-- sb_create_bank
($$SELECT sb_create_bank(NULL)$$, '22004'),
($$SELECT sb_create_bank('')$$, '22023'),
($$SELECT sb_create_bank('h')$$, '42710'),
($$SELECT sb_create_bank('h2', 'other_scope')$$, '42710'),
($$SELECT sb_create_bank(repeat('n', 100000))$$, '22001'),
($$SELECT sb_create_bank('new', '')$$, '22023'),
($$SELECT sb_create_bank('new', repeat('s', 201))$$, '22001'),
($$SELECT sb_create_bank('a', 'b', 'c')$$, '42883'),
-- sb_add_items
($$SELECT sb_add_items(NULL, NULL)$$, '22004'),
($$SELECT sb_add_items('h', NULL)$$, '22004'),
($$SELECT sb_add_items('h', ARRAY[NULL]::text[])$$, '22004'),
($$SELECT sb_add_items('h', ARRAY['ok', NULL, 'ok2'])$$, '22004'),
($$SELECT sb_add_items('h', ARRAY[''])$$, '22023'),
($$SELECT sb_add_items('h', ARRAY['ok', repeat('i', 2049)])$$, '22001'),
($$SELECT sb_add_items('h', ARRAY['ok', repeat('i', 10000000)])$$, '22001'),
($$SELECT sb_add_items('nope', ARRAY['a'])$$, '42704'),
($$SELECT sb_add_items('h; DROP TABLE storagebox_data.item', ARRAY['a'])$$, '42704'),
($$SELECT sb_add_items('h', 'not an array')$$, '22P02'),
($$SELECT sb_add_items('h', 42)$$, '42883'),
-- sb_fetch_item
($$SELECT sb_fetch_item(NULL, NULL)$$, '22004'),
($$SELECT sb_fetch_item('h', NULL)$$, '22004'),
($$SELECT sb_fetch_item(NULL, 'u')$$, '22004'),
($$SELECT sb_fetch_item('', 'u')$$, '22023'),
($$SELECT sb_fetch_item('h', '')$$, '22023'),
($$SELECT sb_fetch_item('h', repeat('d', 1025))$$, '22001'),
($$SELECT sb_fetch_item(repeat('b', 201), 'u')$$, '22001'),
($$SELECT sb_fetch_item('nope', 'u')$$, '42704'),
($$SELECT sb_fetch_item($q$h' OR '1'='1$q$, 'u')$$, '42704'),
($$SELECT sb_fetch_item('h', 'u', 'extra')$$, '42883'),
-- sb_lookup
($$SELECT sb_lookup(NULL, 'holder')$$, '22004'),
($$SELECT sb_lookup('h', NULL)$$, '22004'),
($$SELECT sb_lookup('', 'u')$$, '22023'),
($$SELECT sb_lookup('nope', 'holder')$$, '42704'),
($$SELECT sb_lookup('h', repeat('d', 5000))$$, '22001'),
-- sb_release
($$SELECT sb_release(NULL, 'holder')$$, '22004'),
($$SELECT sb_release('h', NULL)$$, '22004'),
($$SELECT sb_release('h', '')$$, '22023'),
($$SELECT sb_release('nope', 'holder')$$, '42704'),
($$SELECT sb_release('H', 'holder')$$, '42704'),
-- sb_drop_bank
($$SELECT sb_drop_bank(NULL)$$, '22004'),
($$SELECT sb_drop_bank('')$$, '22023'),
($$SELECT sb_drop_bank('nope')$$, '42704'),
($$SELECT sb_drop_bank('h; DROP SCHEMA storagebox_data CASCADE')$$, '42704'),
-- sb_create_dispenser
($$SELECT sb_create_dispenser(NULL)$$, '22004'),
($$SELECT sb_create_dispenser('')$$, '22023'),
($$SELECT sb_create_dispenser('hd')$$, '42710'),
($$SELECT sb_create_dispenser('reverse')$$, '42710'),
($$SELECT sb_create_dispenser('x', 'up')$$, '22023'),
($$SELECT sb_create_dispenser('x', 'FORWARD')$$, '22023'),
($$SELECT sb_create_dispenser('x', '')$$, '22023'),
($$SELECT sb_create_dispenser('x', NULL)$$, '22004'),
($$SELECT sb_create_dispenser('x', 'forward', 10, 1)$$, '22023'),
($$SELECT sb_create_dispenser('x', 'forward', 1, 1)$$, '22023'),
($$SELECT sb_create_dispenser('x', 'forward', 1, NULL)$$, '22004'),
($$SELECT sb_create_dispenser('x', 'forward', 1, 9223372036854775808)$$, '42883'),
($$SELECT sb_create_dispenser(repeat('x', 201))$$, '22001'),
-- sb_next, sb_forward, sb_reverse
($$SELECT sb_next(NULL)$$, '22004'),
($$SELECT sb_next('')$$, '22023'),
($$SELECT sb_next('nope')$$, '42704'),
($$SELECT sb_next($q$hd'; SELECT 1; --$q$)$$, '42704'),
($$SELECT sb_next(repeat('x', 201))$$, '22001'),
($$SELECT sb_next('hd', NULL)$$, '22004'),
($$SELECT sb_next('hd', 0)$$, '22023'),
($$SELECT sb_next('hd', -2147483648)$$, '22023'),
($$SELECT sb_next('hd', 101)$$, '22023'),
($$SELECT sb_next('hd', 2147483647)$$, '22023'),
($$SELECT sb_next('hd', 2147483648)$$, '42883'),
($$SELECT sb_next('hd', 'many')$$, '22P02'),
($$SELECT sb_next('nope', 1)$$, '42704'),
($$SELECT sb_forward(0)$$, '22023'),
($$SELECT sb_forward(101)$$, '22023'),
($$SELECT sb_forward(NULL)$$, '22004'),
($$SELECT sb_reverse(-1)$$, '22023'),
($$SELECT sb_reverse(1000000)$$, '22023'),
-- sb_drop_dispenser
($$SELECT sb_drop_dispenser(NULL)$$, '22004'),
($$SELECT sb_drop_dispenser('')$$, '22023'),
($$SELECT sb_drop_dispenser('nope')$$, '42704'),
($$SELECT sb_drop_dispenser('forward')$$, '0A000'),
($$SELECT sb_drop_dispenser('reverse')$$, '0A000');

-- every attack fails with the expected SQLSTATE
SELECT count(*) AS attacks FROM attack;
SELECT expected AS sqlstate, count(*) AS attacks FROM attack GROUP BY 1 ORDER BY 1;
SELECT n, stmt, expected, split_part(regress.try(stmt), ':', 1) AS got
  FROM attack WHERE split_part(regress.try(stmt), ':', 1) IS DISTINCT FROM expected ORDER BY n;

-- and nothing changed
SELECT 'bank changed' AS what, * FROM (
    (SELECT * FROM sb_banks EXCEPT ALL SELECT * FROM banks_before)
    UNION ALL (SELECT * FROM banks_before EXCEPT ALL SELECT * FROM sb_banks)) d;
SELECT 'dispenser changed' AS what, * FROM (
    (SELECT * FROM sb_dispensers EXCEPT ALL SELECT * FROM dispensers_before)
    UNION ALL (SELECT * FROM dispensers_before EXCEPT ALL SELECT * FROM sb_dispensers)) d;
SELECT count(*) AS claims_changed FROM (
    (SELECT * FROM storagebox_data.claim EXCEPT ALL SELECT * FROM claims_before)
    UNION ALL (SELECT * FROM claims_before EXCEPT ALL SELECT * FROM storagebox_data.claim)) d;
SELECT count(*) AS items_changed FROM (
    (SELECT * FROM storagebox_data.item EXCEPT ALL SELECT * FROM items_before)
    UNION ALL (SELECT * FROM items_before EXCEPT ALL SELECT * FROM storagebox_data.item)) d;
SELECT to_regclass('storagebox_data.item') IS NOT NULL AS tables_still_there;

SELECT sb_drop_bank('h');
SELECT sb_drop_bank('h2');
SELECT sb_drop_dispenser('hd');
