-- C flavour only: storagebox.max_count is a PGC_SUSET setting of the
-- library.  Its SQL-flavour counterpart is test/sql/max_count_sql.sql.
\set ECHO none
\i test/sql/include/helpers.sql
\set ECHO all
SET client_min_messages = warning;
SELECT current_user AS admin \gset
SELECT sb_create_dispenser('p_tickets', 'forward', 100, 199);
CREATE ROLE regress_disp_app LOGIN;
GRANT EXECUTE ON FUNCTION sb_next(text, integer) TO regress_disp_app;
SELECT sb_grant_dispenser('p_tickets', 'regress_disp_app');

-- validated by PostgreSQL, under a reserved prefix
SELECT regress.try($$SET storagebox.max_count = 0$$);
SELECT regress.try($$SET storagebox.no_such_setting = 1$$);

-- storagebox.max_count.  The library is loaded in this session (the calls
-- above), so an application role's SET is refused at SET time.
SET ROLE regress_disp_app;
SELECT regress.try($$SET storagebox.max_count = 1000$$) AS set_refused;
SELECT regress.try($$SET LOCAL storagebox.max_count = 1000$$) AS set_local_refused;
SELECT regress.try($$SELECT set_config('storagebox.max_count', '1000', false)$$) AS set_config_refused;
SHOW storagebox.max_count;
RESET ROLE;
-- In a new session that has not loaded the library, SET only makes a
-- placeholder (PostgreSQL cannot know it is a superuser setting); loading
-- the library throws the placeholder away with a WARNING, so the limit never
-- changes.  session_preload_libraries closes that window.
\c - regress_disp_app
SET storagebox.max_count = 1000;
SELECT regress.try_masked($$SELECT sb_next('p_tickets', 101)$$) AS still_limited;
SHOW storagebox.max_count;
\c - :admin
ALTER ROLE regress_disp_app SET session_preload_libraries = 'storagebox';
\c - regress_disp_app
SELECT regress.try($$SET storagebox.max_count = 1000$$) AS refused_at_set_time;
SHOW storagebox.max_count;
\c - :admin
ALTER ROLE regress_disp_app RESET session_preload_libraries;
SET client_min_messages = warning;


SELECT sb_drop_dispenser('p_tickets');
REVOKE ALL ON FUNCTION sb_next(text, integer) FROM regress_disp_app;
DROP ROLE regress_disp_app;
