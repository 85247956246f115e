-- storagebox: convert an installation to the distributed layout on Citus.
--
-- Run once, on the Citus coordinator, as a superuser, in the database that
-- has the extension, after the workers have been added:
--
--     psql -v ON_ERROR_STOP=1 -d DB -f sql/citus/sb_distribute.sql
--
-- README, "Scaling out with Citus", describes the layout.  In short:
--   storagebox_data.scope, storagebox_data.bank   reference tables
--   storagebox_data.claim, storagebox_data.item   distributed by scope_id,
--                                                 colocated
--   bank_progress, dispensers, setting            local tables of each node
--   storagebox_data.bank_cursor_<id>              one sequence per bank on
--                                                 every node, same rights
--   storagebox_data.route_call                    sends a call to the node
--                                                 that holds its scope
--   sb_fetch_item_in_scope, sb_hold_item_in_scope,
--   sb_confirm_in_scope, sb_lookup_in_scope,
--   sb_release_in_scope                           the calls Citus delegates
--                                                 by scope (planned in place
--                                                 of a whole-statement call)
-- and an event trigger on the coordinator creates, drops and grants the
-- cursor sequences of banks created later on the workers too.
--
-- Only the C flavour (extension storagebox) is supported, at version 2.0.
-- The conversion refuses when any storagebox table is in Citus metadata
-- already, or when a worker's storagebox tables are not empty.  It cannot
-- be undone in place (Citus cannot undistribute a table that an extension
-- owns); keep a dump from before.  Fetches must not run during it.

\set ON_ERROR_STOP 1

DO $check$
DECLARE
    v_version text;
BEGIN
    IF NOT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
        RAISE EXCEPTION 'Citus is not installed in this database';
    END IF;
    SELECT extversion INTO v_version FROM pg_extension WHERE extname = 'storagebox';
    IF v_version IS NULL THEN
        RAISE EXCEPTION 'extension storagebox is not installed in this database'
            USING HINT = 'Only the C flavour, storagebox, can be distributed; storagebox_sql runs on the coordinator only.';
    END IF;
    IF v_version <> '2.0' THEN
        RAISE EXCEPTION 'storagebox is at version %; the distributed layout needs 2.0', v_version
            USING HINT = 'Run ALTER EXTENSION storagebox UPDATE first.';
    END IF;
    IF (SELECT groupid FROM pg_dist_local_group) <> 0 THEN
        RAISE EXCEPTION 'run this on the Citus coordinator';
    END IF;
    IF EXISTS (SELECT FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
                WHERE c.relnamespace = 'storagebox_data'::regnamespace) THEN
        RAISE EXCEPTION 'storagebox tables are in Citus metadata already';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_dist_node WHERE groupid <> 0 AND hasmetadata AND isactive) THEN
        RAISE EXCEPTION 'the cluster has no active worker with metadata';
    END IF;
END
$check$;

-- The same preparation on every node: the coordinator here, the workers
-- through run_command_on_workers.  Each node has its own copy of the
-- extension's tables (CREATE EXTENSION reached it), which Citus keeps as
-- the node's shell tables, so they must all change the same way.
SET citus.enable_ddl_propagation TO off;
CREATE FUNCTION pg_temp.sb_prepare_node_sql() RETURNS text LANGUAGE sql AS $sql$
SELECT $prep$
DO $node$
DECLARE
    v_next_scope integer;
    v_next_bank  integer;
    v_schema     name;
    v_fn         text;
    v_args       text;
    v_volatility text;
    v_symbol     text;
BEGIN
    -- Node-local changes: Citus is not to propagate or police them.
    PERFORM pg_catalog.set_config('citus.enable_ddl_propagation', 'off', true);
    -- A worker's own tables must be empty: storagebox refused to run there.
    IF (SELECT groupid FROM pg_catalog.pg_dist_local_group) <> 0
       AND (EXISTS (SELECT FROM storagebox_data.bank)
            OR EXISTS (SELECT FROM storagebox_data.claim)
            OR EXISTS (SELECT FROM storagebox_data.item)) THEN
        RAISE EXCEPTION 'the storagebox tables of this worker are not empty';
    END IF;

    -- Identity columns: their sequences belong to the extension, and Citus
    -- cannot make a table with one a reference table.  They become plain
    -- sequences of the same name (sb_create_bank calls nextval on
    -- bank_bank_id_seq), owned by their column, continuing where they were.
    SELECT coalesce(pg_catalog.max(scope_id), 0) + 1 INTO v_next_scope
      FROM storagebox_data.scope;
    SELECT coalesce(pg_catalog.max(bank_id), 0) + 1 INTO v_next_bank
      FROM storagebox_data.bank;
    ALTER EXTENSION storagebox DROP SEQUENCE storagebox_data.scope_scope_id_seq;
    ALTER EXTENSION storagebox DROP SEQUENCE storagebox_data.bank_bank_id_seq;
    ALTER TABLE storagebox_data.scope ALTER COLUMN scope_id DROP IDENTITY;
    ALTER TABLE storagebox_data.bank ALTER COLUMN bank_id DROP IDENTITY;
    EXECUTE pg_catalog.format(
        'CREATE SEQUENCE storagebox_data.scope_scope_id_seq AS integer START %s'
        ' OWNED BY storagebox_data.scope.scope_id', v_next_scope);
    EXECUTE pg_catalog.format(
        'CREATE SEQUENCE storagebox_data.bank_bank_id_seq AS integer START %s'
        ' OWNED BY storagebox_data.bank.bank_id', v_next_bank);
    ALTER TABLE storagebox_data.scope ALTER COLUMN scope_id
        SET DEFAULT pg_catalog.nextval('storagebox_data.scope_scope_id_seq');
    REVOKE ALL ON storagebox_data.scope_scope_id_seq, storagebox_data.bank_bank_id_seq
        FROM PUBLIC;

    -- Every row of a scope carries it: item gets the column; a released
    -- claim keeps its scope (the library leaves it in this layout).
    ALTER TABLE storagebox_data.item ADD COLUMN scope_id integer;
    UPDATE storagebox_data.item i SET scope_id = b.scope_id
      FROM storagebox_data.bank b WHERE b.bank_id = i.bank_id;
    ALTER TABLE storagebox_data.item ALTER COLUMN scope_id SET NOT NULL;
    UPDATE storagebox_data.claim c SET scope_id = b.scope_id
      FROM storagebox_data.bank b
     WHERE b.bank_id = c.bank_id AND c.scope_id IS NULL;
    ALTER TABLE storagebox_data.claim ALTER COLUMN scope_id SET NOT NULL;

    -- A unique key of a distributed table must contain the distribution
    -- column.  (bank_id, slot, scope_id) is as strict as (bank_id, slot):
    -- a bank has one scope.  The names stay; the library finds the keys by
    -- name and probes them by their leading columns.
    ALTER TABLE storagebox_data.item
        DROP CONSTRAINT item_pkey,
        ADD CONSTRAINT item_pkey PRIMARY KEY (bank_id, slot, scope_id),
        DROP CONSTRAINT item_unique,
        ADD CONSTRAINT item_unique UNIQUE (bank_id, item, scope_id);
    ALTER TABLE storagebox_data.claim
        DROP CONSTRAINT claim_pkey,
        ADD CONSTRAINT claim_pkey PRIMARY KEY (bank_id, slot, scope_id);

    -- Re-added once both are reference tables.
    ALTER TABLE storagebox_data.bank DROP CONSTRAINT bank_scope_id_fkey;

    -- The routing function (src/citus/layout.c), part of the extension.
    -- The library runs it as the owner of the tables; it runs the routed
    -- function as the calling role, checking EXECUTE on it for that role.
    CREATE FUNCTION storagebox_data.route_call(scope_id integer, fn text, args text[],
                                               caller name)
    RETURNS text LANGUAGE c VOLATILE
    AS '$libdir/storagebox', 'sb_route_call';
    ALTER EXTENSION storagebox ADD FUNCTION storagebox_data.route_call(integer, text, text[], name);
    REVOKE ALL ON FUNCTION storagebox_data.route_call(integer, text, text[], name) FROM PUBLIC;

    -- The forms of the public functions of one dedup scope that Citus
    -- delegates by scope, which the library's planner hook plans in place
    -- of a call that is a statement of its own (src/citus_delegate.c).
    -- Executable by PUBLIC: each checks EXECUTE on its public function for
    -- its caller, then calls it.
    SELECT n.nspname INTO v_schema
      FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'storagebox';
    FOR v_fn, v_args, v_volatility, v_symbol IN VALUES
        ('sb_fetch_item', 'bank text, dedup_id text', 'VOLATILE', 'sb_fetch_item_in_scope'),
        ('sb_hold_item', 'bank text, dedup_id text, hold_for interval', 'VOLATILE', 'sb_call_in_scope'),
        ('sb_confirm', 'bank text, dedup_id text', 'VOLATILE', 'sb_call_in_scope'),
        ('sb_lookup', 'bank text, dedup_id text', 'STABLE', 'sb_call_in_scope'),
        ('sb_release', 'bank text, dedup_id text', 'VOLATILE', 'sb_call_in_scope')
    LOOP
        EXECUTE pg_catalog.format(
            'CREATE FUNCTION %1$I.%2$I(scope_id integer, %3$s)'
            ' RETURNS text LANGUAGE c %4$s'
            ' AS ''$libdir/storagebox'', %5$L; '
            'ALTER EXTENSION storagebox ADD FUNCTION %1$I.%2$I; '
            'GRANT EXECUTE ON FUNCTION %1$I.%2$I TO PUBLIC',
            v_schema, v_fn || '_in_scope', v_args, v_volatility, v_symbol);
    END LOOP;
END
$node$
$prep$
$sql$;

DO $workers$
DECLARE
    v_bad text;
BEGIN
    SELECT pg_catalog.string_agg(pg_catalog.format('%s:%s: %s', nodename, nodeport, result), '; ')
      INTO v_bad
      FROM run_command_on_workers(pg_temp.sb_prepare_node_sql())
     WHERE NOT success;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'preparing a worker failed: %', v_bad
            USING HINT = 'The coordinator is unchanged; workers that succeeded have to be restored from before.';
    END IF;
END
$workers$;
SELECT pg_temp.sb_prepare_node_sql() \gexec
RESET citus.enable_ddl_propagation;

-- A PL/pgSQL block, to run on a worker, that revokes there every right
-- that anybody but the owner holds on one object: p_kind SEQUENCE or
-- FUNCTION, p_name its qualified name (the block finds it by name), and
-- the catalog, ACL column and owner column that describe it.
CREATE FUNCTION storagebox_data.citus_revoke_all_sql(p_kind text, p_name text, p_catalog text,
                                                     p_acl text, p_owner text)
RETURNS text LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $sql$
SELECT format(
    'DECLARE r record; BEGIN FOR r IN SELECT DISTINCT a.grantee FROM pg_catalog.%1$s o,'
    ' pg_catalog.aclexplode(o.%2$s) a WHERE o.oid = %3$L::pg_catalog.%4$s AND a.grantee <> o.%5$s LOOP'
    ' EXECUTE pg_catalog.format(%6$L, CASE WHEN r.grantee = 0 THEN %7$L'
    ' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r.grantee)) END); END LOOP; END; ',
    p_catalog, p_acl, p_name,
    CASE p_kind WHEN 'SEQUENCE' THEN 'regclass' ELSE 'regprocedure' END,
    p_owner, 'REVOKE ALL ON ' || p_kind || ' ' || p_name || ' FROM %s', 'PUBLIC')
$sql$;
ALTER EXTENSION storagebox ADD FUNCTION storagebox_data.citus_revoke_all_sql(text, text, text, text, text);
REVOKE ALL ON FUNCTION storagebox_data.citus_revoke_all_sql(text, text, text, text, text) FROM PUBLIC;

-- The SQL that gives a cursor sequence, on a worker, the owner and rights
-- it has here (per-bank rights live in the cursor's ACL); with p_create,
-- creates it first.  It runs inside a PL/pgSQL block on the worker
-- (citus_on_workers): the rights the worker has and this node has not are
-- revoked there first.
CREATE FUNCTION storagebox_data.citus_cursor_sql(p_seq regclass, p_create boolean)
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $sql$
SELECT (CASE WHEN p_create THEN format(
            'CREATE SEQUENCE IF NOT EXISTS %s AS bigint MINVALUE 0 START 1 NO CYCLE; '
            'ALTER SEQUENCE %s OWNER TO %I; ', p_seq, p_seq, pg_get_userbyid(c.relowner))
        ELSE '' END)
    || CASE WHEN c.relacl IS NULL THEN '' ELSE
           storagebox_data.citus_revoke_all_sql('SEQUENCE', p_seq::text, 'pg_class', 'relacl', 'relowner')
           || format('REVOKE ALL ON SEQUENCE %s FROM PUBLIC; ', p_seq)
           || coalesce((
               SELECT string_agg(format('GRANT %s ON SEQUENCE %s TO %s; ',
                          a.privilege_type, p_seq,
                          CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                               ELSE quote_ident(pg_get_userbyid(a.grantee)) END), '')
                 FROM aclexplode(c.relacl) a
                WHERE a.grantee <> c.relowner), '') END
  FROM pg_class c WHERE c.oid = p_seq
$sql$;
ALTER EXTENSION storagebox ADD FUNCTION storagebox_data.citus_cursor_sql(regclass, boolean);
REVOKE ALL ON FUNCTION storagebox_data.citus_cursor_sql(regclass, boolean) FROM PUBLIC;

-- The SQL that gives storagebox's functions, on a worker, the EXECUTE
-- rights they have here: clients of a worker call them there, and a call
-- routed to a worker is checked against the worker's rights.
CREATE FUNCTION storagebox_data.citus_function_rights_sql()
RETURNS text LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $sql$
SELECT coalesce(string_agg(
           storagebox_data.citus_revoke_all_sql('FUNCTION', p.oid::regprocedure::text, 'pg_proc',
                                                'proacl', 'proowner')
           || format('REVOKE ALL ON FUNCTION %s FROM PUBLIC; ', p.oid::regprocedure)
           || coalesce((
               SELECT string_agg(format('GRANT EXECUTE ON FUNCTION %s TO %s; ',
                          p.oid::regprocedure,
                          CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                               ELSE quote_ident(pg_get_userbyid(a.grantee)) END), '')
                 FROM aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                WHERE a.grantee <> p.proowner), ''), ''), '')
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                  AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'storagebox'
$sql$;
ALTER EXTENSION storagebox ADD FUNCTION storagebox_data.citus_function_rights_sql();
REVOKE ALL ON FUNCTION storagebox_data.citus_function_rights_sql() FROM PUBLIC;

-- Run commands on every worker, in one transaction there, as changes of
-- that node only (Citus refuses DDL on its objects from a worker unless
-- told it is not to be propagated); raise if they failed on one.  They run
-- through separate connections, outside the caller's transaction: if that
-- transaction holds a lock they need on a worker (it fetched from a bank
-- and then drops it), they give up after lock_timeout 10s and the
-- caller's statement fails, rather than wait for ever.
CREATE FUNCTION storagebox_data.citus_on_workers(p_commands text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_bad text;
BEGIN
    SELECT string_agg(format('%s:%s: %s', w.nodename, w.nodeport, w.result), '; ')
      INTO v_bad
      FROM run_command_on_workers(
               'DO $storagebox$ BEGIN '
               'PERFORM pg_catalog.set_config(''citus.enable_ddl_propagation'', ''off'', true); '
               'PERFORM pg_catalog.set_config(''lock_timeout'', ''10s'', true); '
               OPERATOR(pg_catalog.||) replace(p_commands, '$storagebox$', '')
               OPERATOR(pg_catalog.||) ' END $storagebox$') w
     WHERE NOT w.success;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'storagebox could not change a worker: %', v_bad;
    END IF;
END
$fn$;
ALTER EXTENSION storagebox ADD FUNCTION storagebox_data.citus_on_workers(text);
REVOKE ALL ON FUNCTION storagebox_data.citus_on_workers(text) FROM PUBLIC;

SELECT pg_catalog.count(storagebox_data.citus_on_workers(
           storagebox_data.citus_cursor_sql(b.cursor_seq, true))) AS cursors_on_workers
  FROM storagebox_data.bank b;
SELECT storagebox_data.citus_on_workers(storagebox_data.citus_function_rights_sql());

-- Distribute.
SELECT create_reference_table('storagebox_data.scope');
SELECT create_reference_table('storagebox_data.bank');
ALTER TABLE storagebox_data.bank ADD CONSTRAINT bank_scope_id_fkey
    FOREIGN KEY (scope_id) REFERENCES storagebox_data.scope;
SELECT create_distributed_table('storagebox_data.claim', 'scope_id');
SELECT create_distributed_table('storagebox_data.item', 'scope_id',
                                colocate_with := 'storagebox_data.claim');
SELECT truncate_local_data_after_distributing_table(t)
  FROM unnest(ARRAY['storagebox_data.scope', 'storagebox_data.bank',
                    'storagebox_data.claim', 'storagebox_data.item']::regclass[]) t;
-- sb_drop_bank deletes a bank's rows from every shard of claim and item,
-- then from the reference tables, which Citus allows only over one
-- connection per node.
SET citus.enable_ddl_propagation TO off;
SELECT pg_catalog.format('ALTER FUNCTION %I.sb_drop_bank(text)'
                         ' SET citus.multi_shard_modify_mode TO sequential', n.nspname)
  FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'storagebox' \gexec
RESET citus.enable_ddl_propagation;
SELECT create_distributed_function('storagebox_data.route_call(integer, text, text[], name)',
                                   'scope_id', colocate_with := 'storagebox_data.claim',
                                   force_delegation := true);
SELECT pg_catalog.format('SELECT create_distributed_function(%L, ''scope_id'','
                         ' colocate_with := ''storagebox_data.claim'', force_delegation := true)',
                         p.oid::regprocedure::text)
  FROM pg_catalog.pg_extension e
  JOIN pg_catalog.pg_proc p ON p.pronamespace = e.extnamespace
 WHERE e.extname = 'storagebox'
   AND p.proname IN ('sb_fetch_item_in_scope', 'sb_hold_item_in_scope', 'sb_confirm_in_scope',
                     'sb_lookup_in_scope', 'sb_release_in_scope')
 ORDER BY p.proname \gexec

-- Banks created, granted and dropped later: their cursor sequences follow
-- on the workers.  Through separate connections: a transaction here that
-- rolls back leaves a harmless sequence behind on the workers, or a cursor
-- dropped there (README, "Scaling out with Citus").
CREATE FUNCTION storagebox_data.citus_cursor_ddl()
RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    r record;
BEGIN
    IF TG_EVENT = 'sql_drop' THEN
        FOR r IN SELECT o.object_identity FROM pg_event_trigger_dropped_objects() o
                  WHERE o.object_type = 'sequence'
                    AND o.schema_name = 'storagebox_data'
                    AND o.object_name LIKE 'bank\_cursor\_%' LOOP
            PERFORM storagebox_data.citus_on_workers(
                format('DROP SEQUENCE IF EXISTS %s; ', r.object_identity));
        END LOOP;
        RETURN;
    END IF;
    -- A GRANT or REVOKE names a sequence as SEQUENCE or TABLE.
    FOR r IN SELECT DISTINCT c.command_tag, c.object_identity
               FROM pg_event_trigger_ddl_commands() c
              WHERE (c.command_tag = 'CREATE SEQUENCE'
                     AND c.object_identity LIKE 'storagebox\_data.bank\_cursor\_%')
                 OR (c.command_tag IN ('GRANT', 'REVOKE')
                     AND lower(c.object_type) IN ('sequence', 'table')) LOOP
        IF r.command_tag = 'CREATE SEQUENCE' THEN
            IF r.object_identity LIKE 'storagebox\_data.bank\_cursor\_%' THEN
                PERFORM storagebox_data.citus_on_workers(
                    storagebox_data.citus_cursor_sql(r.object_identity::regclass, true));
            END IF;
        ELSE
            -- GRANT and REVOKE do not name their objects here: copy the
            -- rights of every cursor.
            PERFORM storagebox_data.citus_on_workers(
                        storagebox_data.citus_cursor_sql(b.cursor_seq, false))
               FROM storagebox_data.bank b;
        END IF;
    END LOOP;
    -- EXECUTE on storagebox's functions: copied on every GRANT and REVOKE
    -- of functions.
    IF EXISTS (SELECT FROM pg_event_trigger_ddl_commands() c
                WHERE c.command_tag IN ('GRANT', 'REVOKE')
                  AND lower(c.object_type) IN ('function', 'routine', 'procedure')) THEN
        PERFORM storagebox_data.citus_on_workers(storagebox_data.citus_function_rights_sql());
    END IF;
END
$fn$;
ALTER EXTENSION storagebox ADD FUNCTION storagebox_data.citus_cursor_ddl();
REVOKE ALL ON FUNCTION storagebox_data.citus_cursor_ddl() FROM PUBLIC;
CREATE EVENT TRIGGER storagebox_citus_cursor_ddl ON ddl_command_end
    WHEN TAG IN ('CREATE SEQUENCE', 'GRANT', 'REVOKE')
    EXECUTE FUNCTION storagebox_data.citus_cursor_ddl();
CREATE EVENT TRIGGER storagebox_citus_cursor_drop ON sql_drop
    WHEN TAG IN ('DROP SEQUENCE')
    EXECUTE FUNCTION storagebox_data.citus_cursor_ddl();
ALTER EXTENSION storagebox ADD EVENT TRIGGER storagebox_citus_cursor_ddl;
ALTER EXTENSION storagebox ADD EVENT TRIGGER storagebox_citus_cursor_drop;
