/* storagebox 1.2 -> 1.3: fetch, lookup and release without SECURITY DEFINER */

\echo Use "ALTER EXTENSION storagebox UPDATE TO '1.3'" to load this file. \quit

-- The claim row carries its item, so that a repeat fetch or a lookup is one
-- probe of the holder key.  Items never change, so the copy cannot go
-- stale.  (A NULL item means a row written by an older library: the item
-- table is read instead.)
ALTER TABLE storagebox_data.claim ADD COLUMN item text COLLATE "C";
UPDATE storagebox_data.claim AS c
   SET item = i.item
  FROM storagebox_data.item AS i
 WHERE i.bank_id OPERATOR(pg_catalog.=) c.bank_id
   AND i.slot OPERATOR(pg_catalog.=) c.slot;

-- The sold-out mark.  Once the slow path of a fetch has found every item
-- held and nothing in flight, it inserts a watermark row at items_total
-- carrying the bank's free_epoch as sold_out_epoch.  Every sb_release bumps
-- free_epoch (sb_add_items raises items_total), so the mark holds exactly
-- while neither has committed: a sold-out answer is then one probe of the
-- bank row and one of the watermark.  The index puts, among rows with the
-- same settled_upto, the newest mark first for a backward scan.
ALTER TABLE storagebox_data.bank
    ADD COLUMN free_epoch bigint NOT NULL DEFAULT 0;
ALTER TABLE storagebox_data.bank_progress
    ADD COLUMN sold_out_epoch bigint NOT NULL DEFAULT -1;
DROP INDEX storagebox_data.bank_progress_upto;
CREATE INDEX bank_progress_upto
    ON storagebox_data.bank_progress (bank_id, settled_upto, sold_out_epoch);

-- The public functions of the hot path run as the caller.  They read and
-- write the tables through the access methods directly (no SQL, so no name
-- resolution to attack), and run their rare internal statements as the
-- owner of the tables with every name qualified.  A caller still needs
-- EXECUTE, and still has no right on the tables.
ALTER FUNCTION @extschema@.sb_fetch_item(text, text) SECURITY INVOKER RESET ALL;

CREATE OR REPLACE FUNCTION @extschema@.sb_lookup(bank text, dedup_id text)
RETURNS text
AS 'MODULE_PATHNAME', 'sb_lookup'
LANGUAGE C STABLE;

CREATE OR REPLACE FUNCTION @extschema@.sb_release(bank text, dedup_id text)
RETURNS text
AS 'MODULE_PATHNAME', 'sb_release'
LANGUAGE C VOLATILE;
