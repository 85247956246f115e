/* storagebox 1.4 -> 1.5: the refusal to run where storagebox's tables are not local (Citus) */

\echo Use "ALTER EXTENSION storagebox UPDATE TO '1.5'" to load this file. \quit

-- 1.5 changes the library only: every function refuses (0A000) on a Citus
-- worker node and wherever a storagebox table is in Citus metadata
-- (src/citus_guard.c; README, "Scaling out with Citus").  The catalog of
-- 1.4 stays as it is; this script marks the version, so that extversion
-- says which library an installation expects.
