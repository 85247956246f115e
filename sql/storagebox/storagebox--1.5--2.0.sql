/* storagebox 1.5 -> 2.0: one version for both flavours; the setting storagebox.citus_direct is gone */

\echo Use "ALTER EXTENSION storagebox UPDATE TO '2.0'" to load this file. \quit

-- 2.0 is a major version because the setting storagebox.citus_direct is
-- gone (on Citus, calls go through Citus's own delegation).  A setting is
-- the library's, not the catalog's: the catalog of 2.0 is that of 1.5.
