-- SQL flavour: holds, sb_fetch_items and the per-bank rights by hand (the
-- shared tests of 1.4 cover both flavours; these are the SQL flavour's own
-- checks of its takeover and renewal paths).
\set ECHO none
\i test/sql/include/helpers.sql
\set ECHO all
SELECT sb_create_bank('hs'), sb_add_items('hs', ARRAY['h1', 'h2']);
SELECT sb_hold_item('hs', 'a', '30 minutes') AS a_holds,
       sb_hold_item('hs', 'a', '1 hour') AS a_again,
       sb_fetch_item('hs', 'b') AS b_fetches,
       sb_fetch_item('hs', 'c') AS c_sold_out;
SELECT dedup_id, hold_expires IS NOT NULL AS is_hold FROM sb_holders('hs');
SELECT items_handed_out, items_left, items_held FROM sb_banks WHERE bank = 'hs';
-- end a's hold now, without waiting for it (a test may run slowly; the
-- outcome must not depend on it)
UPDATE storagebox_data.claim SET hold_expires = clock_timestamp() - interval '1 millisecond'
 WHERE dedup_id = 'a' AND hold_expires IS NOT NULL;
-- the expired hold is free: counted so, held by nobody
SELECT items_handed_out, items_left, items_held FROM sb_banks WHERE bank = 'hs';
SELECT sb_lookup('hs', 'a') AS a_lookup, sb_confirm('hs', 'a') AS a_confirm;
-- its own dedup_id renews it in place (the same item, now permanent)
SELECT sb_fetch_item('hs', 'a') AS a_renewed, sb_confirm('hs', 'a') AS a_confirm_again;
SELECT sb_release('hs', 'a') AS a_released;
-- another id takes an expired hold
SELECT sb_hold_item('hs', 'd', '100 ms') AS d_holds;
SELECT pg_sleep(0.15);
SELECT sb_hold_item('hs', 'e', '1 hour') AS e_takes_it, sb_lookup('hs', 'd') AS d_nothing,
       sb_fetch_item('hs', 'd') AS d_sold_out, sb_release('hs', 'd') AS d_release;
SELECT sb_release('hs', 'e') AS e_cancels;
SELECT sb_lookup('hs', 'e') AS e_nothing;
SELECT dedup_id, item FROM sb_holders('hs');

-- batches: distinct ids in byte order; sold-out ids get NULL
SELECT * FROM sb_fetch_items('hs', ARRAY['z', 'B', 'b', 'z', 'a']);
SELECT count(*) AS ids, count(item) AS items
  FROM sb_fetch_items('hs', ARRAY(SELECT 'm' || g FROM generate_series(1, 100000) g));

-- argument errors
SELECT regress.try($$SELECT sb_hold_item('hs', 'x', NULL)$$);
SELECT regress.try($$SELECT sb_hold_item('hs', 'x', '0')$$);
SELECT regress.try($$SELECT sb_hold_item('hs', 'x', '-1 day')$$);
SELECT regress.try($$SELECT sb_hold_item('hs', 'x', '100000000 years')$$);
SELECT regress.try($$SELECT sb_fetch_items('hs', NULL)$$);
SELECT regress.try($$SELECT sb_fetch_items('hs', ARRAY['a', NULL])$$);
SELECT regress.try($$SELECT sb_fetch_items('hs', ARRAY['a', repeat('x', 1025)])$$);

-- rights: restricted once a role is granted something
CREATE ROLE regress_sb_hs_a;
CREATE ROLE regress_sb_hs_b;
GRANT EXECUTE ON FUNCTION sb_fetch_item(text, text), sb_lookup(text, text), sb_holders(text)
    TO regress_sb_hs_a, regress_sb_hs_b;
SELECT sb_create_bank('hr'), sb_add_items('hr', ARRAY['r1', 'r2', 'r3']);
SET ROLE regress_sb_hs_b;
SELECT sb_fetch_item('hr', 'b1') AS unrestricted;
SELECT regress.try($$SELECT * FROM sb_holders('hr')$$) AS holders_need_read;
RESET ROLE;
SELECT sb_grant('hr', 'regress_sb_hs_a', 'fetch');
SET ROLE regress_sb_hs_b;
SELECT regress.try($$SELECT sb_fetch_item('hr', 'b2')$$) AS b_denied;
SELECT regress.try($$SELECT sb_lookup('hr', 'b1')$$) AS b_lookup_denied;
RESET ROLE;
SET ROLE regress_sb_hs_a;
SELECT sb_fetch_item('hr', 'a1') AS a_granted;
RESET ROLE;
SELECT sb_grant('hr', 'regress_sb_hs_b', 'read');
SET ROLE regress_sb_hs_b;
SELECT sb_lookup('hr', 'a1') AS b_reads, dedup_id FROM sb_holders('hr');
RESET ROLE;
SELECT sb_revoke('hr', 'regress_sb_hs_a', 'fetch'), sb_revoke('hr', 'regress_sb_hs_b', 'read');
-- the last revoke leaves the bank restricted; a grant to PUBLIC opens it
SET ROLE regress_sb_hs_b;
SELECT regress.try($$SELECT sb_fetch_item('hr', 'b2')$$) AS still_restricted;
RESET ROLE;
DO $$ BEGIN
    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO PUBLIC',
                   (SELECT cursor_seq FROM storagebox_data.bank WHERE bank_name = 'hr'));
END $$;
SET ROLE regress_sb_hs_b;
SELECT sb_fetch_item('hr', 'b2') AS open_to_public;
RESET ROLE;
SELECT sb_drop_bank('hs'), sb_drop_bank('hr');
REVOKE EXECUTE ON FUNCTION sb_fetch_item(text, text), sb_lookup(text, text), sb_holders(text)
    FROM regress_sb_hs_a, regress_sb_hs_b;
DROP ROLE regress_sb_hs_a, regress_sb_hs_b;
