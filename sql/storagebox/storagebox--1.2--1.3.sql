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
