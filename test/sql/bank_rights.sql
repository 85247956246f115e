-- Per-bank rights (1.4): sb_grant and sb_revoke, with the privileges fetch
-- (USAGE on the bank's cursor) and read (SELECT on it).  A bank without
-- grants is open to any role with EXECUTE, as before 1.4; once a role is
-- granted a right on it, every other role without one gets 42501 and
-- nothing changes, even after the last revoke (a grant to PUBLIC on the
-- cursor opens it again).  sb_holders always needs read.  A row reached
-- through another bank of the dedup scope needs the right on its own bank.
\set ECHO none
\i test/sql/include/helpers.sql
\set ECHO all
SET client_min_messages = warning;

-- regress.try with the number of the bank's cursor masked (it depends on
-- the tests before this one)
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text
LANGUAGE sql AS $$ SELECT regexp_replace(regress.try(stmt), 'bank_cursor_[0-9]+', 'bank_cursor_N', 'g') $$;
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;
-- The grantees of a bank's cursor other than its owner, and what they have
-- (PUBLIC shows as -).
CREATE FUNCTION pg_temp.rights(p_bank text) RETURNS TABLE (grantee regrole, privilege text)
LANGUAGE sql AS $$
    SELECT a.grantee::regrole, a.privilege_type
      FROM storagebox_data.bank b
      JOIN pg_class c ON c.oid = b.cursor_seq
     CROSS JOIN aclexplode(c.relacl) a
     WHERE b.bank_name = p_bank AND a.grantee <> c.relowner
     ORDER BY a.grantee::regrole::text, a.privilege_type
$$;
-- Nobody but the owner may grant: sb_grant, sb_revoke and sb_holders are
-- not executable by PUBLIC
SELECT p AS function, has_function_privilege('public', p, 'EXECUTE') AS public_can_execute
  FROM unnest(ARRAY['sb_grant(text,regrole,text)', 'sb_revoke(text,regrole,text)',
                    'sb_holders(text)']::regprocedure[]) AS p;

SELECT sb_create_bank('br');
SELECT sb_add_items('br', ARRAY(SELECT 'br-' || g FROM generate_series(1, 20) g));
SELECT sb_create_bank('br_open');
SELECT sb_add_items('br_open', ARRAY['open-1', 'open-2', 'open-3']);

-- three application roles with EXECUTE on every bank function a role may
-- be given, and no bank right yet
CREATE ROLE regress_br_a;
CREATE ROLE regress_br_b;
CREATE ROLE regress_br_r;
GRANT EXECUTE ON FUNCTION sb_fetch_item(text, text), sb_hold_item(text, text, interval),
    sb_confirm(text, text), sb_release(text, text), sb_lookup(text, text),
    sb_fetch_items(text, text[]), sb_holders(text)
    TO regress_br_a, regress_br_b, regress_br_r;

-- a role without EXECUTE on sb_grant cannot grant itself a right
SET ROLE regress_br_b;
SELECT pg_temp.try($$SELECT sb_grant('br', 'regress_br_b', 'fetch')$$) AS grant_by_app;
SELECT pg_temp.try($$SELECT sb_revoke('br', 'regress_br_b', 'fetch')$$) AS revoke_by_app;
RESET ROLE;

-- Compatibility: on a bank without grants, EXECUTE is all a role needs.
-- (sb_lookup is STABLE: it looks in statements of its own, after the fetch.)
SELECT * FROM pg_temp.rights('br');
SET ROLE regress_br_b;
SELECT sb_fetch_item('br', 'b-1') AS fetch, sb_hold_item('br', 'b-2', '10 minutes') AS hold,
       sb_confirm('br', 'b-2') AS confirm;
SELECT sb_lookup('br', 'b-1') AS lookup, sb_release('br', 'b-1') AS release;
SELECT dedup_id, item FROM sb_fetch_items('br', ARRAY['b-3', 'b-2']);
-- but not sb_holders: it needs read, on any bank
SELECT pg_temp.try($$SELECT * FROM sb_holders('br')$$) AS holders_unrestricted;
RESET ROLE;

-- sb_grant 'fetch' to regress_br_a: the bank is now restricted
SELECT sb_grant('br', 'regress_br_a', 'fetch');
SELECT * FROM pg_temp.rights('br');
-- granting twice is harmless
SELECT sb_grant('br', 'regress_br_a', 'fetch');
SELECT * FROM pg_temp.rights('br');
SELECT regress.bank_state('br') AS before \gset

-- regress_br_b, with EXECUTE but no right, is refused everything, with
-- 42501, whether its id holds an item or not
SET ROLE regress_br_b;
SELECT pg_temp.try($$SELECT sb_fetch_item('br', 'b-9')$$) AS fetch_new;
SELECT pg_temp.try($$SELECT sb_fetch_item('br', 'b-2')$$) AS fetch_repeat;
SELECT pg_temp.try($$SELECT sb_hold_item('br', 'b-9', '10 minutes')$$) AS hold;
SELECT pg_temp.try($$SELECT sb_confirm('br', 'b-2')$$) AS confirm;
SELECT pg_temp.try($$SELECT sb_release('br', 'b-2')$$) AS release;
SELECT pg_temp.try($$SELECT sb_lookup('br', 'b-2')$$) AS lookup;
SELECT pg_temp.try($$SELECT * FROM sb_fetch_items('br', ARRAY['b-9', 'b-2'])$$) AS fetch_items;
SELECT pg_temp.try($$SELECT * FROM sb_fetch_items('br', '{}')$$) AS fetch_items_empty;
SELECT pg_temp.try($$SELECT * FROM sb_holders('br')$$) AS holders;
-- an unknown bank and a NULL id are still 42704 and 22004
SELECT pg_temp.try($$SELECT sb_fetch_item('nope', 'b-9')$$) AS unknown_bank;
SELECT pg_temp.try($$SELECT sb_fetch_item('br', NULL)$$) AS null_id;
-- a bank without grants stays open to it
SELECT sb_fetch_item('br_open', 'b-1') AS open_fetch;
SELECT sb_lookup('br_open', 'b-1') AS open_lookup;
RESET ROLE;
-- and nothing changed
SELECT regress.bank_state('br') = :'before' AS unchanged;

-- regress_br_a, granted fetch, may do everything but sb_holders
SET ROLE regress_br_a;
SELECT sb_fetch_item('br', 'a-1') AS fetch, sb_hold_item('br', 'a-2', '10 minutes') AS hold,
       sb_confirm('br', 'a-2') AS confirm;
SELECT sb_lookup('br', 'a-1') AS lookup, sb_release('br', 'a-1') AS release;
SELECT dedup_id, item FROM sb_fetch_items('br', ARRAY['a-3', 'a-2']);
-- it may look up any id, its own or not (the right is per bank)
SELECT sb_lookup('br', 'b-2') AS lookup_other;
SELECT pg_temp.try($$SELECT * FROM sb_holders('br')$$) AS holders_with_fetch;
RESET ROLE;

-- read: sb_lookup and sb_holders, but no fetch, hold, confirm, release or
-- batch
SELECT sb_grant('br', 'regress_br_r', 'read');
SELECT * FROM pg_temp.rights('br');
SELECT regress.bank_state('br') AS before \gset
SET ROLE regress_br_r;
SELECT sb_lookup('br', 'a-3') AS lookup, sb_lookup('br', 'never') AS lookup_nobody;
SELECT count(*) AS holders FROM sb_holders('br');
SELECT pg_temp.try($$SELECT sb_fetch_item('br', 'r-1')$$) AS fetch;
SELECT pg_temp.try($$SELECT sb_fetch_item('br', 'a-3')$$) AS fetch_repeat;
SELECT pg_temp.try($$SELECT sb_hold_item('br', 'r-1', '10 minutes')$$) AS hold;
SELECT pg_temp.try($$SELECT sb_confirm('br', 'a-3')$$) AS confirm;
SELECT pg_temp.try($$SELECT sb_release('br', 'a-3')$$) AS release;
SELECT pg_temp.try($$SELECT * FROM sb_fetch_items('br', ARRAY['r-1'])$$) AS fetch_items;
-- read on one bank gives nothing on another
SELECT pg_temp.try($$SELECT * FROM sb_holders('br_open')$$) AS holders_other_bank;
RESET ROLE;
SELECT regress.bank_state('br') = :'before' AS unchanged;

-- The owner and superusers always pass
SELECT sb_lookup('br', 'a-3') AS owner_lookup, count(*) AS owner_holders FROM sb_holders('br');

-- Bad calls of sb_grant and sb_revoke: each its SQLSTATE, and the rights
-- stay as they were
SELECT pg_temp.try($$SELECT sb_grant('br', 'regress_br_b', 'write')$$) AS unknown_privilege;
SELECT pg_temp.try($$SELECT sb_grant('br', 'regress_br_b', 'FETCH')$$) AS upper_case;
SELECT pg_temp.try($$SELECT sb_grant('br', 'regress_br_b', '')$$) AS empty_privilege;
SELECT pg_temp.try($$SELECT sb_grant('br', 'regress_br_b', 'fetch, read')$$) AS two_privileges;
SELECT pg_temp.try($$SELECT sb_revoke('br', 'regress_br_a', 'all')$$) AS revoke_unknown;
SELECT pg_temp.try($$SELECT sb_grant('br', NULL, 'fetch')$$) AS null_role;
SELECT pg_temp.try($$SELECT sb_grant('br', 'regress_br_b', NULL)$$) AS null_privilege;
SELECT pg_temp.try($$SELECT sb_grant(NULL, 'regress_br_b', 'fetch')$$) AS null_bank;
SELECT pg_temp.try($$SELECT sb_revoke('br', NULL, 'fetch')$$) AS revoke_null_role;
SELECT pg_temp.try($$SELECT sb_revoke('br', 'regress_br_a', NULL)$$) AS revoke_null_privilege;
SELECT pg_temp.try($$SELECT sb_revoke(NULL, 'regress_br_a', 'fetch')$$) AS revoke_null_bank;
SELECT pg_temp.try($$SELECT sb_grant('nope', 'regress_br_b', 'fetch')$$) AS unknown_bank;
SELECT pg_temp.try($$SELECT sb_revoke('nope', 'regress_br_a', 'fetch')$$) AS revoke_unknown_bank;
SELECT pg_temp.try($$SELECT sb_grant('', 'regress_br_b', 'fetch')$$) AS empty_bank_name;
SELECT pg_temp.try($$SELECT sb_grant('br', 'regress_br_nobody', 'fetch')$$) AS unknown_role;
SELECT pg_temp.try($$SELECT sb_grant($q$br'; DROP TABLE x; --$q$, 'regress_br_b', 'fetch')$$) AS injected_bank;
SELECT * FROM pg_temp.rights('br');

-- A role that holds a bank right cannot be dropped (the right is in the
-- ACL of the bank's cursor); DROP OWNED BY takes the right away
REVOKE EXECUTE ON FUNCTION sb_fetch_item(text, text), sb_hold_item(text, text, interval),
    sb_confirm(text, text), sb_release(text, text), sb_lookup(text, text),
    sb_fetch_items(text, text[]), sb_holders(text)
    FROM regress_br_r;
SELECT pg_temp.try($$DROP ROLE regress_br_r$$) AS drop_role;
DROP OWNED BY regress_br_r;
SELECT * FROM pg_temp.rights('br');
DROP ROLE regress_br_r;

-- Revoking: the bank stays restricted while any grant is left ...
SELECT sb_grant('br', 'regress_br_a', 'read');
SELECT sb_revoke('br', 'regress_br_a', 'fetch');
SELECT * FROM pg_temp.rights('br');
SET ROLE regress_br_a;
SELECT pg_temp.try($$SELECT sb_fetch_item('br', 'a-9')$$) AS a_fetch_after_revoke;
SELECT sb_lookup('br', 'a-3') AS a_lookup_with_read;
RESET ROLE;
SET ROLE regress_br_b;
SELECT pg_temp.try($$SELECT sb_fetch_item('br', 'b-9')$$) AS b_fetch_still_restricted;
RESET ROLE;
-- ... revoking what was never granted changes nothing ...
SELECT sb_revoke('br', 'regress_br_b', 'fetch');
SELECT * FROM pg_temp.rights('br');
-- ... and when the last grant goes, the bank stays restricted: taking a
-- role's right away never opens the bank to everybody ...
SELECT sb_revoke('br', 'regress_br_a', 'read');
SELECT * FROM pg_temp.rights('br');
SELECT regress.bank_state('br') AS before \gset
SET ROLE regress_br_b;
SELECT pg_temp.try($$SELECT sb_fetch_item('br', 'b-9')$$) AS b_fetch_after_last_revoke;
SELECT pg_temp.try($$SELECT sb_lookup('br', 'b-2')$$) AS b_lookup_after_last_revoke;
RESET ROLE;
SET ROLE regress_br_a;
SELECT pg_temp.try($$SELECT sb_lookup('br', 'a-3')$$) AS a_lookup_after_last_revoke;
RESET ROLE;
SELECT regress.bank_state('br') = :'before' AS unchanged;
-- ... until the operator grants the cursor to PUBLIC: every role with
-- EXECUTE may then use the bank (sb_holders still needs read)
DO $$ BEGIN
    EXECUTE format('GRANT USAGE ON SEQUENCE %s TO PUBLIC',
                   (SELECT cursor_seq FROM storagebox_data.bank WHERE bank_name = 'br'));
END $$;
SELECT * FROM pg_temp.rights('br');
SET ROLE regress_br_b;
SELECT sb_fetch_item('br', 'b-9') AS b_fetch_public;
SELECT sb_lookup('br', 'b-9') AS b_lookup;
SELECT pg_temp.try($$SELECT * FROM sb_holders('br')$$) AS holders_still_need_read;
RESET ROLE;
DO $$ BEGIN
    EXECUTE format('REVOKE USAGE ON SEQUENCE %s FROM PUBLIC',
                   (SELECT cursor_seq FROM storagebox_data.bank WHERE bank_name = 'br'));
END $$;
SELECT * FROM pg_temp.rights('br');

-- A right granted to a role reaches its members, as any privilege does
CREATE ROLE regress_br_member IN ROLE regress_br_a;
SELECT sb_grant('br', 'regress_br_a', 'fetch');
SET ROLE regress_br_member;
SELECT sb_fetch_item('br', 'member-1') AS member_fetch;
RESET ROLE;
SET ROLE regress_br_b;
SELECT pg_temp.try($$SELECT sb_fetch_item('br', 'b-10')$$) AS b_fetch_restricted_again;
RESET ROLE;

-- Banks of one dedup scope share their holders.  open_b is unrestricted,
-- secret_b restricted (regress_br_a may fetch from it); ids that hold an
-- item of secret_b -- permanently, on a live hold, on an expired hold --
-- cannot be looked up, fetched, held, confirmed, released or batched
-- through open_b by a role without the right on secret_b; nothing changes.
SELECT sb_create_bank('open_b', 'br_scope');
SELECT sb_create_bank('secret_b', 'br_scope');
SELECT sb_add_items('open_b', ARRAY['o-1', 'o-2']);
SELECT sb_add_items('secret_b', ARRAY['s-1', 's-2', 's-3', 's-4']);
SELECT sb_grant('secret_b', 'regress_br_a', 'fetch');
SELECT sb_fetch_item('secret_b', 'x-perm') AS perm, sb_hold_item('secret_b', 'x-hold', '1 hour') AS hold,
       sb_hold_item('secret_b', 'x-gone', '10 milliseconds') AS short_hold;
-- open_b sold out (the last fetch finds it so and settles it)
SELECT sb_fetch_item('open_b', 'own-1'), sb_fetch_item('open_b', 'own-2');
SELECT sb_fetch_item('open_b', 'own-3') AS sold_out;
SELECT pg_sleep(0.1);               -- x-gone's hold has expired
SELECT regress.bank_state('open_b') AS open_before, regress.bank_state('secret_b') AS secret_before \gset
SELECT count(*) AS claims_before FROM storagebox_data.claim \gset
SET ROLE regress_br_b;
SELECT pg_temp.try($$SELECT sb_lookup('open_b', 'x-perm')$$) AS lookup;
SELECT pg_temp.try($$SELECT sb_lookup('open_b', 'x-hold')$$) AS lookup_hold;
SELECT pg_temp.try($$SELECT sb_fetch_item('open_b', 'x-perm')$$) AS fetch;
SELECT pg_temp.try($$SELECT sb_fetch_item('open_b', 'x-hold')$$) AS fetch_hold;
SELECT pg_temp.try($$SELECT sb_fetch_item('open_b', 'x-gone')$$) AS fetch_expired;
SELECT pg_temp.try($$SELECT sb_hold_item('open_b', 'x-perm', '10 minutes')$$) AS hold;
SELECT pg_temp.try($$SELECT sb_hold_item('open_b', 'x-gone', '10 minutes')$$) AS hold_expired;
SELECT pg_temp.try($$SELECT sb_confirm('open_b', 'x-hold')$$) AS confirm;
SELECT pg_temp.try($$SELECT sb_confirm('open_b', 'x-perm')$$) AS confirm_perm;
SELECT pg_temp.try($$SELECT sb_confirm('open_b', 'x-gone')$$) AS confirm_expired;
SELECT pg_temp.try($$SELECT sb_release('open_b', 'x-hold')$$) AS release_hold;
SELECT pg_temp.try($$SELECT sb_release('open_b', 'x-perm')$$) AS release;
SELECT pg_temp.try($$SELECT sb_release('open_b', 'x-gone')$$) AS release_expired;
SELECT pg_temp.try($$SELECT * FROM sb_fetch_items('open_b', ARRAY['x-perm'])$$) AS fetch_items;
SELECT pg_temp.try($$SELECT * FROM sb_fetch_items('open_b', ARRAY['x-hold', 'a-new'])$$) AS fetch_items_sold_out;
-- an expired hold holds nothing: its lookup is NULL, in any bank
SELECT sb_lookup('open_b', 'x-gone') AS lookup_expired;
RESET ROLE;
SELECT regress.bank_state('open_b') = :'open_before' AS open_unchanged,
       regress.bank_state('secret_b') = :'secret_before' AS secret_unchanged,
       (SELECT count(*) FROM storagebox_data.claim) = :claims_before AS claims_unchanged;
-- regress_br_a, with fetch on secret_b, may do all of it through open_b
SET ROLE regress_br_a;
SELECT sb_lookup('open_b', 'x-perm') AS lookup, sb_fetch_item('open_b', 'x-hold') AS fetch_hold;
SELECT dedup_id, item FROM sb_fetch_items('open_b', ARRAY['x-perm', 'a-new']);
SELECT sb_confirm('open_b', 'x-hold') AS confirm, sb_release('open_b', 'x-perm') AS release;
RESET ROLE;
SELECT dedup_id, item, hold_expires IS NULL AS permanent FROM sb_holders('secret_b');

-- Dropping the bank takes its rights with it: the roles can then be dropped
-- once their EXECUTE grants are gone
SELECT sb_drop_bank('br');
SELECT sb_drop_bank('br_open');
SELECT sb_drop_bank('open_b');
SELECT sb_drop_bank('secret_b');
REVOKE EXECUTE ON FUNCTION sb_fetch_item(text, text), sb_hold_item(text, text, interval),
    sb_confirm(text, text), sb_release(text, text), sb_lookup(text, text),
    sb_fetch_items(text, text[]), sb_holders(text)
    FROM regress_br_a, regress_br_b;
DROP ROLE regress_br_member;
DROP ROLE regress_br_a;
DROP ROLE regress_br_b;
SELECT count(*) AS roles_left FROM pg_roles WHERE rolname LIKE 'regress\_br\_%';
