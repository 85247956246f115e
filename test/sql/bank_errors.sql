-- Bad input gets a clear error with a precise SQLSTATE, and changes nothing.

-- expected/bank_errors_1.out: the SQL flavour, whose checks are PL/pgSQL
-- functions of storagebox_data (checked_name, checked_array, lookup, release,
-- fetch_item), so the context of an error names them too.
\set ECHO none
\i test/sql/include/helpers.sql
\set ECHO all
SET client_min_messages = warning;

SELECT sb_create_bank('errs');
SELECT sb_add_items('errs', ARRAY['e1', 'e2']);
SELECT sb_fetch_item('errs', 'holder');
CREATE TEMP TABLE before AS
SELECT bank, dedup_scope, items_total, items_handed_out, items_left FROM sb_banks;

-- NULL and empty bank names
SELECT regress.try($$SELECT sb_create_bank(NULL)$$);
SELECT regress.try($$SELECT sb_create_bank('')$$);
SELECT regress.try($$SELECT sb_create_bank('x', '')$$);
SELECT regress.try($$SELECT sb_add_items(NULL, ARRAY['a'])$$);
SELECT regress.try($$SELECT sb_add_items('', ARRAY['a'])$$);
SELECT regress.try($$SELECT sb_fetch_item(NULL, 'u')$$);
SELECT regress.try($$SELECT sb_fetch_item('', 'u')$$);
SELECT regress.try($$SELECT sb_lookup(NULL, 'u')$$);
SELECT regress.try($$SELECT sb_release('', 'u')$$);
SELECT regress.try($$SELECT sb_drop_bank(NULL)$$);

-- NULL and empty dedup_ids
SELECT regress.try($$SELECT sb_fetch_item('errs', NULL)$$);
SELECT regress.try($$SELECT sb_fetch_item('errs', '')$$);
SELECT regress.try($$SELECT sb_lookup('errs', NULL)$$);
SELECT regress.try($$SELECT sb_release('errs', '')$$);

-- NULL array, NULL, empty and too long items
SELECT regress.try($$SELECT sb_add_items('errs', NULL)$$);
SELECT regress.try($$SELECT sb_add_items('errs', ARRAY['ok', NULL])$$);
SELECT regress.try($$SELECT sb_add_items('errs', ARRAY['ok', ''])$$);
SELECT regress.try($$SELECT sb_add_items('errs', ARRAY['ok', repeat('x', 2049)])$$);
-- the longest accepted item is 2048 bytes; a rejected array adds nothing
SELECT regress.try($$SELECT sb_add_items('errs', ARRAY[repeat('x', 2048), repeat('y', 100000)])$$);

-- too long names and dedup_ids
SELECT regress.try($$SELECT sb_create_bank(repeat('b', 201))$$);
SELECT regress.try($$SELECT sb_fetch_item('errs', repeat('d', 1025))$$);

-- unknown banks: 42704 with a hint
SELECT regress.try($$SELECT sb_add_items('nope', ARRAY['a'])$$);
SELECT regress.try($$SELECT sb_fetch_item('nope', 'u')$$);
SELECT regress.try($$SELECT sb_lookup('nope', 'u')$$);
SELECT regress.try($$SELECT sb_release('nope', 'u')$$);
SELECT regress.try($$SELECT sb_drop_bank('nope')$$);
-- names are matched exactly: no case folding, no trimming
SELECT regress.try($$SELECT sb_fetch_item('ERRS', 'u')$$);
SELECT regress.try($$SELECT sb_fetch_item('errs ', 'u')$$);

-- a bank that exists: 42710
SELECT regress.try($$SELECT sb_create_bank('errs')$$);
SELECT regress.try($$SELECT sb_create_bank('errs', 'some_scope')$$);

-- The context of an error names storagebox's functions and their lines,
-- never the text of an internal statement (the last lines are this test's
-- own EXECUTE).
CREATE FUNCTION regress.context_of(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    ctx text;
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS ctx = PG_EXCEPTION_CONTEXT;
    RETURN ctx;
END
$$;
SELECT regress.context_of($$SELECT sb_create_bank('')$$);
SELECT regress.context_of($$SELECT sb_add_items('errs', ARRAY[''])$$);
SELECT regress.context_of($$SELECT sb_lookup('errs', '')$$);
SELECT regress.context_of($$SELECT sb_release('', 'u')$$);
SELECT regress.context_of($$SELECT sb_drop_bank('no-such-bank')$$);
SELECT regress.context_of($$SELECT sb_fetch_item('errs', '')$$);
DROP FUNCTION regress.context_of(text);

-- nothing changed
SELECT * FROM before EXCEPT SELECT bank, dedup_scope, items_total, items_handed_out, items_left FROM sb_banks;
SELECT bank, dedup_scope, items_total, items_handed_out, items_left FROM sb_banks EXCEPT SELECT * FROM before;
SELECT count(*) AS banks FROM sb_banks;
SELECT sb_lookup('errs', 'holder');

SELECT sb_drop_bank('errs');
