-- SQL flavour only: without C there is no library setting, so the batch
-- limit lives in storagebox_data.setting (at most one row; none means 100),
-- which only the extension's owner can change; values outside 1..1000000
-- are refused with 22023.  Counterpart of test/sql/max_count_c.sql.
\set ECHO none
\i test/sql/include/helpers.sql
\set ECHO all
SET client_min_messages = warning;
SELECT sb_create_dispenser('p_tickets', 'forward', 100, 199);
CREATE ROLE regress_disp_app LOGIN;
GRANT EXECUTE ON FUNCTION sb_next(text, integer) TO regress_disp_app;
SELECT sb_grant_dispenser('p_tickets', 'regress_disp_app');

SELECT count(*) AS rows_at_install FROM storagebox_data.setting;
-- the owner sets it; bad values change nothing
SELECT regress.try($$INSERT INTO storagebox_data.setting (max_count) VALUES (0)$$) AS zero;
SELECT regress.try($$INSERT INTO storagebox_data.setting (max_count) VALUES (1000001)$$) AS too_big;
SELECT regress.try($$INSERT INTO storagebox_data.setting (max_count) VALUES (NULL)$$) AS null_value;
SELECT regress.try($$INSERT INTO storagebox_data.setting (one_row, max_count) VALUES (false, 5)$$) AS second_row;
SELECT count(*) AS still_no_row FROM storagebox_data.setting;
INSERT INTO storagebox_data.setting (max_count) VALUES (150);
SELECT regress.try($$UPDATE storagebox_data.setting SET max_count = -1$$) AS update_refused;
SELECT max_count FROM storagebox_data.setting;
SELECT array_length(sb_next('p_tickets', 100), 1) AS within;

-- an application role cannot change it, in any way it may try
SET ROLE regress_disp_app;
SELECT regress.try($$UPDATE storagebox_data.setting SET max_count = 1000$$) AS app_update;
SELECT regress.try($$SET storagebox.max_count = 1000$$) AS app_set_is_a_placeholder;
SELECT regress.try($$SELECT sb_next('p_tickets', 151)$$) AS still_limited;
SELECT regress.try($$SELECT sb_next('p_tickets', 150)$$) AS at_limit;
RESET ROLE;
RESET storagebox.max_count;
DELETE FROM storagebox_data.setting;

SELECT sb_drop_dispenser('p_tickets');
REVOKE ALL ON FUNCTION sb_next(text, integer) FROM regress_disp_app;
DROP ROLE regress_disp_app;
