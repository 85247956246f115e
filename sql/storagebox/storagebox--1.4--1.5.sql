/* storagebox 1.4 -> 1.5: the refusal to run where storagebox's tables are not local (Citus) */

\echo Use "ALTER EXTENSION storagebox UPDATE TO '1.5'" to load this file. \quit

-- 1.5: every function refuses (0A000) on a Citus worker node and wherever
-- a storagebox table is in Citus metadata (src/citus_guard.c; README,
-- "Scaling out with Citus").  The check is in the library; the catalog
-- changes only in the volatility of checked_name, below.

-- checked_name now also runs that check, so its answer depends on the
-- catalog: STABLE, no longer IMMUTABLE, so that no plan can fold a call
-- with constant arguments once and skip the check afterwards.
ALTER FUNCTION storagebox_data.checked_name(text, text) STABLE;
