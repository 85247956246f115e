/* storagebox 1.2: a deadlock-free lock protocol for banks, crash-safe dispensers on every range */

\echo Use "ALTER EXTENSION storagebox UPDATE TO '1.2'" to load this file. \quit

-- Banks
--
-- The watermark is raised by whichever fetch notices that more slots have
-- committed claims, without waiting for anybody: two fetches may raise it
-- to the same value at once, so its index is no longer unique.
ALTER TABLE storagebox_data.bank_progress DROP CONSTRAINT bank_progress_pkey;
CREATE INDEX bank_progress_upto
    ON storagebox_data.bank_progress (bank_id, settled_upto);
