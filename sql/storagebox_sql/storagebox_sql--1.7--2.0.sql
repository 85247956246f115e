/* storagebox_sql 1.7 -> 2.0: one version for both flavours */

\echo Use "ALTER EXTENSION storagebox_sql UPDATE TO '2.0'" to load this file. \quit

-- 2.0 is the version of both flavours from this release on (the C flavour
-- loses its setting storagebox.citus_direct).  A function that 2.0 changes
-- is replaced here with CREATE OR REPLACE FUNCTION, which keeps its oid and
-- its grants.
