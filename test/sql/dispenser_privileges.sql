-- Dispenser privileges, as for nextval: EXECUTE on the function plus USAGE
-- or UPDATE on the dispenser's sequence.  A role without the right gets
-- 42501 and the sequence does not move.  sb_dispensers can be granted; it
-- shows next_value where the reader has SELECT or USAGE on the sequence.
-- (storagebox.max_count: test/sql/max_count_c.sql and max_count_sql.sql)

-- expected/dispenser_privileges_1.out: the SQL flavour, whose right to take
-- numbers is SELECT on the sequence (sb_grant_dispenser grants SELECT, not
-- USAGE), so a role with SELECT only takes a number and the detail of 42501
-- says "SELECT, USAGE or UPDATE".
\set ECHO none
\i test/sql/include/helpers.sql
\set ECHO all
SET client_min_messages = warning;
SELECT current_user AS admin \gset

SELECT sb_create_dispenser('p_tickets', 'forward', 100, 199);
SELECT sb_create_dispenser('p_other', 'reverse', 1, 50);
SELECT seq AS tickets_seq FROM storagebox_data.dispenser WHERE dispenser_name = 'p_tickets' \gset
SELECT seq AS other_seq FROM storagebox_data.dispenser WHERE dispenser_name = 'p_other' \gset
CREATE ROLE regress_disp_app LOGIN;
CREATE ROLE regress_disp_reader;
GRANT EXECUTE ON FUNCTION sb_next(text), sb_next(text, integer),
    sb_forward(), sb_forward(integer), sb_reverse(), sb_reverse(integer)
    TO regress_disp_app;
CREATE TEMP TABLE positions_before AS SELECT dispenser, next_value FROM sb_dispensers;

-- EXECUTE alone is not enough: 42501, nothing moves
SET ROLE regress_disp_app;
SELECT regress.try_masked($$SELECT sb_next('p_tickets')$$) AS single;
SELECT regress.try_masked($$SELECT sb_next('p_tickets', 3)$$) AS batch;
SELECT regress.try($$SELECT sb_forward()$$) AS pez_forward;
SELECT regress.try($$SELECT sb_reverse(2)$$) AS pez_reverse;
-- an unknown dispenser is still 42704 (the right is checked on the sequence)
SELECT regress.try($$SELECT sb_next('nope')$$) AS unknown;
RESET ROLE;
SELECT b.dispenser, b.next_value = d.next_value AS unmoved
  FROM positions_before b JOIN sb_dispensers d USING (dispenser) ORDER BY 1;
-- (forward's position depends on the tests before this one)
SELECT next_value AS forward_next FROM sb_dispensers WHERE dispenser = 'forward' \gset
DROP TABLE positions_before;

-- sb_grant_dispenser grants USAGE on one dispenser's sequence
SELECT sb_grant_dispenser('p_tickets', 'regress_disp_app');
SELECT sb_grant_dispenser('forward', 'regress_disp_app');
SELECT has_sequence_privilege('regress_disp_app', :'tickets_seq', 'USAGE') AS usage,
       has_sequence_privilege('regress_disp_app', :'tickets_seq', 'UPDATE') AS "update",
       has_sequence_privilege('regress_disp_app', :'tickets_seq', 'SELECT') AS "select";
SET ROLE regress_disp_app;
SELECT sb_next('p_tickets') AS single, sb_next('p_tickets', 3) AS batch,
       sb_forward() = :forward_next AS pez_forward_next;
-- the right is per dispenser
SELECT regress.try_masked($$SELECT sb_next('p_other')$$) AS other_dispenser;
SELECT regress.try($$SELECT sb_reverse()$$) AS reverse_not_granted;
-- nor may the role grant itself more, or read the positions
SELECT regress.try($$SELECT sb_grant_dispenser('p_other', 'regress_disp_app')$$) AS grant_itself;
SELECT regress.try($$SELECT * FROM sb_dispensers$$) AS read_view;
RESET ROLE;

-- UPDATE on the sequence is enough too (as for nextval); SELECT is not
GRANT UPDATE ON SEQUENCE :other_seq TO regress_disp_app;
SET ROLE regress_disp_app;
SELECT sb_next('p_other', 2) AS with_update;
RESET ROLE;
REVOKE UPDATE ON SEQUENCE :other_seq FROM regress_disp_app;
GRANT SELECT ON SEQUENCE :other_seq TO regress_disp_app;
SET ROLE regress_disp_app;
SELECT regress.try_masked($$SELECT sb_next('p_other')$$) AS with_select_only;
RESET ROLE;
REVOKE SELECT ON SEQUENCE :other_seq FROM regress_disp_app;

-- sb_revoke_dispenser takes it back (USAGE and UPDATE)
SELECT sb_revoke_dispenser('p_tickets', 'regress_disp_app');
SET ROLE regress_disp_app;
SELECT regress.try_masked($$SELECT sb_next('p_tickets')$$) AS after_revoke;
RESET ROLE;
SELECT next_value FROM sb_dispensers WHERE dispenser = 'p_tickets';

-- bad calls of the helpers
SELECT regress.try($$SELECT sb_grant_dispenser('nope', 'regress_disp_app')$$) AS unknown_dispenser;
SELECT regress.try($$SELECT sb_grant_dispenser('p_tickets', NULL)$$) AS null_role;
SELECT regress.try($$SELECT sb_grant_dispenser(NULL, 'regress_disp_app')$$) AS null_dispenser;
SELECT regress.try($$SELECT sb_grant_dispenser('p_tickets', 'regress_no_such_role')$$) AS unknown_role;
SELECT regress.try($$SELECT sb_revoke_dispenser('nope', 'regress_disp_app')$$) AS revoke_unknown;

-- GRANT SELECT ON sb_dispensers works: every dispenser is listed, next_value
-- where the reader has SELECT or USAGE on the sequence, NULL elsewhere
GRANT SELECT ON sb_dispensers TO regress_disp_reader;
SET ROLE regress_disp_reader;
SELECT dispenser, direction, min_value, max_value, next_value FROM sb_dispensers ORDER BY 1;
RESET ROLE;
GRANT SELECT ON SEQUENCE :tickets_seq TO regress_disp_reader;
SELECT sb_grant_dispenser('p_other', 'regress_disp_reader');
SET ROLE regress_disp_reader;
SELECT dispenser, next_value FROM sb_dispensers ORDER BY 1;
-- reading takes nothing, and the reader cannot take numbers
SELECT regress.try_masked($$SELECT sb_next('p_other')$$) AS no_execute;
RESET ROLE;

-- dispenser_next_value itself checks SELECT or USAGE, like pg_sequence_last_value
SELECT has_function_privilege('public', 'storagebox_data.dispenser_next_value(regclass)', 'EXECUTE')
    AS public_may_execute;
-- (called directly, which needs USAGE on its schema; the view does not)
SELECT oid AS forward_seq_oid FROM pg_class WHERE relname = 'dispenser_forward' \gset
GRANT USAGE ON SCHEMA storagebox_data TO regress_disp_reader;
SET ROLE regress_disp_reader;
SELECT regress.try(format('SELECT storagebox_data.dispenser_next_value(%s)', :forward_seq_oid))
    AS no_right_on_forward;
SELECT regress.try('SELECT storagebox_data.dispenser_next_value(0)') AS no_such_relation;
RESET ROLE;
SELECT sb_grant_dispenser('forward', 'regress_disp_reader');
SET ROLE regress_disp_reader;
SELECT storagebox_data.dispenser_next_value(:forward_seq_oid) = next_value AS same_as_view
  FROM sb_dispensers WHERE dispenser = 'forward';
RESET ROLE;
REVOKE USAGE ON SCHEMA storagebox_data FROM regress_disp_reader;

-- clean up
SELECT sb_revoke_dispenser('forward', 'regress_disp_app');
SELECT sb_revoke_dispenser('forward', 'regress_disp_reader');
SELECT sb_drop_dispenser('p_tickets');
SELECT sb_drop_dispenser('p_other');
REVOKE SELECT ON sb_dispensers FROM regress_disp_reader;
REVOKE ALL ON FUNCTION sb_next(text), sb_next(text, integer),
    sb_forward(), sb_forward(integer), sb_reverse(), sb_reverse(integer)
    FROM regress_disp_app;
DROP ROLE regress_disp_app;
DROP ROLE regress_disp_reader;
