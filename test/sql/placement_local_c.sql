-- The placement seam (src/citus/placement.h) on a server without Citus:
-- every call reads and writes the local tables, the statements a release
-- runs clear the row's scope, nothing is routed, the planner hook leaves a
-- whole-statement call alone, and the delegated form of a call (which
-- sql/citus/sb_distribute.sql makes) runs the public function here.
\set ECHO none
\i test/sql/include/helpers.sql
\set ECHO all
SET client_min_messages = warning;

SELECT sb_create_bank('placed');
SELECT sb_add_items('placed', ARRAY['placed-1', 'placed-2', 'placed-3']);
-- the items are rows of the local item table
SELECT i.slot, i.item
  FROM storagebox_data.item i JOIN storagebox_data.bank b USING (bank_id)
 WHERE b.bank_name = 'placed' ORDER BY i.slot;

SELECT sb_fetch_item('placed', 'a') AS a, sb_hold_item('placed', 'h', '1 hour') AS h;
SELECT sb_confirm('placed', 'h') AS confirmed, sb_lookup('placed', 'a') AS looked_up;
-- a release frees the local row, scope and holder cleared
SELECT sb_release('placed', 'a') AS released;
SELECT c.slot, c.scope_id IS NULL AS scope_cleared, c.dedup_id, c.hold_expires IS NULL AS permanent
  FROM storagebox_data.claim c JOIN storagebox_data.bank b USING (bank_id)
 WHERE b.bank_name = 'placed' ORDER BY c.slot;
-- the released item is taken again
SELECT sb_fetch_item('placed', 'again') AS again;

-- the planner hook leaves a whole-statement call as it is
EXPLAIN (VERBOSE, COSTS OFF) SELECT sb_fetch_item('placed', 'b');

-- the delegated form runs the public function of its schema here;
-- its first argument only tells Citus where to send it
CREATE FUNCTION sb_fetch_item_in_scope(integer, text, text) RETURNS text
  LANGUAGE C AS '$libdir/storagebox', 'sb_call_in_scope';
SELECT sb_fetch_item_in_scope(-1, 'placed', 'b') AS b,
       sb_fetch_item_in_scope(-1, 'placed', 'b') AS b_again,
       sb_lookup('placed', 'b') AS b_looked_up;
-- a function of another name is no delegated form
CREATE FUNCTION regress.not_a_delegated_form(integer, text, text) RETURNS text
  LANGUAGE C AS '$libdir/storagebox', 'sb_call_in_scope';
SELECT regress.try($$SELECT regress.not_a_delegated_form(1, 'placed', 'c')$$);
DROP FUNCTION sb_fetch_item_in_scope(integer, text, text);
DROP FUNCTION regress.not_a_delegated_form(integer, text, text);
SELECT * FROM regress.counts('placed');
SELECT sb_drop_bank('placed');
