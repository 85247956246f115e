-- Upgrades: install the oldest release, fill it, and walk ALTER EXTENSION
-- UPDATE through every release; data is kept and the result has the same
-- objects as a fresh install of the current version.
SET client_min_messages = warning;

SELECT sb_create_dispenser('fresh_probe');
SELECT sb_drop_dispenser('fresh_probe');
-- the members of a fresh install, to compare with an upgraded one
CREATE TEMP TABLE fresh_members AS
SELECT pg_describe_object(classid, objid, objsubid) AS member
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'storagebox');

DROP EXTENSION storagebox;
CREATE EXTENSION storagebox VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'storagebox';

-- 1.0 has banks
SELECT sb_create_bank('kept', 'kept_scope');
SELECT sb_add_items('kept', ARRAY['k1', 'k2', 'k3']);
SELECT sb_fetch_item('kept', 'before-upgrade');
CREATE TEMP TABLE banks_before AS SELECT * FROM sb_banks;

-- the chain of releases, oldest first
SELECT source, target FROM pg_extension_update_paths('storagebox')
 WHERE path IS NOT NULL AND source < target AND path !~ '--.*--' ORDER BY 1, 2;
ALTER EXTENSION storagebox UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'storagebox';

-- data kept
SELECT * FROM banks_before
EXCEPT SELECT bank, dedup_scope, items_total, items_handed_out, items_left, created_at FROM sb_banks;
SELECT sb_fetch_item('kept', 'before-upgrade') AS same_item,
       sb_fetch_item('kept', 'after-upgrade') AS next_item;
-- 1.3 copied the item into the claim written before it (by this library,
-- which writes no copy while the column does not exist yet)
SELECT c.dedup_id, c.item FROM storagebox_data.claim c ORDER BY c.slot;
-- and 1.1 works: the built-in dispensers exist from the upgrade
SELECT dispenser, direction, next_value FROM sb_dispensers ORDER BY 1;
SELECT sb_forward() AS forward, sb_reverse(2) AS reverse;

-- same objects as a fresh install
SELECT 'missing after upgrade' AS what, member FROM (
    SELECT member FROM fresh_members
    EXCEPT
    SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
     WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
       AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'storagebox')) m
UNION ALL
SELECT 'extra after upgrade', member FROM (
    SELECT pg_describe_object(classid, objid, objsubid) FROM pg_depend
     WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
       AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'storagebox')
    EXCEPT
    SELECT member FROM fresh_members) e(member);
SELECT count(*) > 20 AS members_compared FROM fresh_members;

SELECT sb_drop_bank('kept');
-- with no banks or dispensers of its own, the extension drops cleanly
DROP EXTENSION storagebox;
CREATE EXTENSION storagebox;
