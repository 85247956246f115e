
-- 1.5: storagebox on a Citus cluster (README, "Scaling out with Citus"); the
-- SQL flavour's counterpart of the C flavour's src/citus_guard.c, called by
-- checked_name, which every function of the API calls first, by
-- fetch_item (whose hot path calls no check) and by peek (the view
-- sb_dispensers).  Raises 0A000 on a Citus worker node, whose
-- storagebox tables are its own, separate copies, and when a storagebox
-- table is in Citus metadata (distributed, a reference table, a Citus local
-- table), whose rows the functions would not see.  Without Citus it is one
-- to_regclass() call.  The Citus catalogs are read with EXECUTE, so that
-- nothing here needs them to exist.
CREATE FUNCTION storagebox_data.require_local_node()
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
    managed text;
    group_id integer;
BEGIN
    IF pg_catalog.to_regclass('pg_catalog.pg_dist_partition') IS NULL
       OR NOT EXISTS (SELECT FROM pg_catalog.pg_extension e
                       WHERE e.extname OPERATOR(pg_catalog.=) 'citus') THEN
        RETURN;
    END IF;
    EXECUTE 'SELECT c.relname::pg_catalog.text'
         || '  FROM pg_catalog.pg_dist_partition p'
         || '  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) p.logicalrelid'
         || ' WHERE c.relnamespace OPERATOR(pg_catalog.=) $1'
         || '   AND c.relname OPERATOR(pg_catalog.=) ANY ($2)'
         || ' ORDER BY pg_catalog.array_position($2, c.relname::pg_catalog.text) LIMIT 1'
       INTO managed
      USING 'storagebox_data'::pg_catalog.regnamespace,
            ARRAY['scope', 'bank', 'bank_progress', 'item', 'claim', 'dispenser', 'setting'];
    IF managed IS NOT NULL THEN
        RAISE EXCEPTION 'storagebox table "storagebox_data.%" is managed by Citus', managed
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'The storagebox functions read and write their tables directly, so these must stay local tables of the coordinator.',
                  HINT = 'Keep storagebox''s tables out of Citus metadata; README section "Scaling out with Citus" says what is supported.';
    END IF;
    EXECUTE 'SELECT g.groupid FROM pg_catalog.pg_dist_local_group g' INTO group_id;
    IF group_id OPERATOR(pg_catalog.<>) 0 THEN
        RAISE EXCEPTION 'storagebox runs on the Citus coordinator, not on a worker node'
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Each Citus node has its own storagebox tables; only the coordinator''s hold the banks and dispensers.',
                  HINT = 'Connect to the coordinator to call storagebox functions.';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION storagebox_data.require_local_node() FROM PUBLIC;
