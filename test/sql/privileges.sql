-- Least privilege: an application role with only the README's GRANTs can
-- fetch, look up and draw numbers, and nothing else; no function can be
-- hijacked through objects in public or pg_temp, whether it is SECURITY
-- DEFINER or runs its internal statements as the owner of the tables.

-- expected/privileges_1.out: the SQL flavour, which grants EXECUTE to PUBLIC
-- on the internal functions that its bank and dispenser functions call
-- (they check the caller's rights themselves), and whose batch limit is a
-- table in storagebox_data, out of an application role's reach, rather than
-- a superuser setting.
\set ECHO none
\i test/sql/include/helpers.sql
\set ECHO all
SET client_min_messages = warning;

-- nothing of storagebox is executable or readable by PUBLIC, except
-- dispenser_next_value, which checks the sequence right itself (see
-- dispenser_privileges)
SELECT p.oid::regprocedure AS public_can_execute
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname IN ('storagebox', 'storagebox_sql'))
   AND has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY p.oid::regprocedure::text COLLATE "C";
SELECT c.oid::regclass AS public_can_read
  FROM pg_class c JOIN pg_depend d ON d.objid = c.oid AND d.classid = 'pg_class'::regclass
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname IN ('storagebox', 'storagebox_sql'))
   AND (has_table_privilege('public', c.oid, 'SELECT')
        OR has_table_privilege('public', c.oid, 'INSERT, UPDATE, DELETE'));
SELECT has_schema_privilege('public', 'storagebox_data', 'USAGE') AS public_uses_data_schema;
-- functions that change state are SECURITY DEFINER with a pinned search_path,
-- except the C ones: the dispensers run no SQL (src/dispenser/dispenser.c), and
-- sb_fetch_item, sb_lookup and sb_release read and write the tables directly
-- and run their few internal statements as the tables' owner, with every
-- name qualified (src/bank/owner_sql.c)
SELECT p.oid::regprocedure AS function, p.prosecdef AS security_definer, p.proconfig
  FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname IN ('storagebox', 'storagebox_sql'))
   AND p.pronamespace = 'public'::regnamespace
 ORDER BY p.oid::regprocedure::text;

SELECT sb_create_bank('priv');
SELECT sb_add_items('priv', ARRAY['secret-1', 'secret-2', 'secret-3']);
SELECT sb_create_dispenser('tickets', 'forward', 100, 199);
SELECT sb_create_bank('priv_small');
SELECT sb_add_items('priv_small', ARRAY['small-1']);

CREATE ROLE regress_sb_app;
-- the README's GRANTs
GRANT EXECUTE ON FUNCTION sb_fetch_item(text, text) TO regress_sb_app;
GRANT EXECUTE ON FUNCTION sb_lookup(text, text) TO regress_sb_app;
GRANT EXECUTE ON FUNCTION sb_next(text), sb_next(text, integer) TO regress_sb_app;
SELECT sb_grant_dispenser('tickets', 'regress_sb_app');

-- planted objects that a hijacked function would pick up: each one raises
CREATE FUNCTION public.hijacked_eq(text, text) RETURNS boolean
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: operator = used'; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hijacked_eq);
CREATE FUNCTION public.hijacked_eq(integer, integer) RETURNS boolean
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: operator = used'; END $$;
CREATE OPERATOR public.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = public.hijacked_eq);
CREATE FUNCTION public.nextval(regclass) RETURNS bigint
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: nextval used'; END $$;
CREATE FUNCTION public.unnest(text[]) RETURNS SETOF text
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'hijacked: unnest used'; END $$;
CREATE TABLE public.claim (bank_id int, slot bigint, scope_id int, dedup_id text);
CREATE TABLE public.item (bank_id int, slot bigint, item text);
CREATE TABLE public.bank (bank_id int, bank_name text);
GRANT ALL ON public.claim, public.item, public.bank TO regress_sb_app;

SET ROLE regress_sb_app;
SET search_path = pg_temp, public;
-- the role plants temp tables with the internal names, first on its path
CREATE TEMP TABLE claim (bank_id int, slot bigint, scope_id int, dedup_id text);
CREATE TEMP TABLE item (bank_id int, slot bigint, item text);
CREATE TEMP TABLE bank (bank_id int, bank_name text);
CREATE TEMP TABLE dispenser (dispenser_name text, seq regclass);

-- it can fetch, look up and draw numbers
SELECT sb_fetch_item('priv', 'app-user-1') AS fetched,
       sb_fetch_item('priv', 'app-user-1') AS again;
SELECT sb_lookup('priv', 'app-user-1') AS looked_up;
SELECT sb_next('tickets') AS ticket, sb_next('tickets', 3) AS tickets;
-- the planted objects were not used
SELECT (SELECT count(*) FROM pg_temp.claim) + (SELECT count(*) FROM public.claim)
     + (SELECT count(*) FROM pg_temp.item) + (SELECT count(*) FROM public.item) AS planted_rows;

-- even with public searched before pg_catalog, the internal statements of
-- the slow path (the watermark) are not hijacked
SET search_path = public, pg_catalog, pg_temp;
SELECT sb_fetch_item('priv_small', 'app-user-1') AS last_item,
       sb_fetch_item('priv_small', 'app-user-2') AS sold_out,
       sb_fetch_item('priv_small', 'app-user-3') AS still_sold_out;
SET search_path = pg_temp, public;

-- it cannot read or change the tables, or see the view
SELECT regress.try($$SELECT item FROM storagebox_data.item$$) AS read_items;
SELECT regress.try($$SELECT * FROM storagebox_data.claim$$) AS read_claims;
SELECT regress.try($$DELETE FROM storagebox_data.claim$$) AS delete_claims;
SELECT regress.try($$SELECT * FROM sb_banks$$) AS read_sb_banks;
SELECT regress.try($$SELECT * FROM sb_dispensers$$) AS read_sb_dispensers;
-- nor create, load, release or drop banks, nor manage dispensers
SELECT regress.try($$SELECT sb_create_bank('mine')$$) AS create_bank;
SELECT regress.try($$SELECT sb_add_items('priv', ARRAY['x'])$$) AS add_items;
SELECT regress.try($$SELECT sb_release('priv', 'app-user-1')$$) AS release;
SELECT regress.try($$SELECT sb_drop_bank('priv')$$) AS drop_bank;
SELECT regress.try($$SELECT sb_create_dispenser('mine')$$) AS create_dispenser;
SELECT regress.try($$SELECT sb_drop_dispenser('tickets')$$) AS drop_dispenser;
SELECT regress.try($$SELECT sb_forward()$$) AS forward_not_granted;
-- nor the internal helpers, nor touch the sequences behind it all
SELECT regress.try($$SELECT storagebox_data.checked_name('bank', 'x')$$) AS helper;
SELECT regress.try($$SELECT nextval('storagebox_data.dispenser_forward')$$) AS raw_nextval;
-- nor raise the batch limit
SELECT regress.try($$SELECT regress.set_max_count(1000)$$) AS raise_limit;
DROP TABLE pg_temp.claim, pg_temp.item, pg_temp.bank, pg_temp.dispenser;
RESET ROLE;
RESET search_path;

-- a superuser with the planted objects first on its path is not hijacked either
SET search_path = public, pg_catalog, pg_temp;
SELECT sb_add_items('priv', ARRAY['secret-4']) AS added_under_planted_path;
SELECT sb_release('priv', 'app-user-1') AS released_under_planted_path;
SELECT sb_fetch_item('priv', 'app-user-2') AS fetched_under_planted_path;
-- a released item is claimed again by an internal statement of its own
SELECT sb_release('priv_small', 'app-user-1') AS small_released;
SELECT sb_fetch_item('priv_small', 'app-user-9') AS reclaimed_under_planted_path;
RESET search_path;

-- what it did is recorded, and the holder is as fetched
SELECT bank, items_handed_out, items_left FROM sb_banks WHERE bank = 'priv';
SELECT next_value FROM sb_dispensers WHERE dispenser = 'tickets';

DROP TABLE public.claim, public.item, public.bank;
DROP OPERATOR public.= (text, text);
DROP OPERATOR public.= (integer, integer);
DROP FUNCTION public.hijacked_eq(text, text), public.hijacked_eq(integer, integer),
    public.nextval(regclass), public.unnest(text[]);
REVOKE ALL ON FUNCTION sb_fetch_item(text, text), sb_lookup(text, text),
    sb_next(text), sb_next(text, integer) FROM regress_sb_app;
SELECT sb_revoke_dispenser('tickets', 'regress_sb_app');
DROP ROLE regress_sb_app;
SELECT sb_drop_bank('priv');
SELECT sb_drop_bank('priv_small');
SELECT sb_drop_dispenser('tickets');
