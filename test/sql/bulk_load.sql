-- Loading 1,000,000 items in one call works, keeps the array's order,
-- and a re-run of an overlapping load adds only the new ones.
SET client_min_messages = warning;

SELECT sb_create_bank('bulk');
SELECT sb_add_items('bulk', ARRAY(SELECT 'code-' || g FROM generate_series(1, 1000000) g)) AS loaded;
SELECT sb_add_items('bulk', ARRAY(SELECT 'code-' || g FROM generate_series(999991, 1000010) g)) AS overlap_added;
SELECT items_total, items_handed_out, items_left FROM sb_banks WHERE bank = 'bulk';
-- slots follow the array order, with no gap
SELECT min(slot), max(slot), count(*), count(DISTINCT item)
  FROM storagebox_data.item i JOIN storagebox_data.bank b USING (bank_id)
 WHERE b.bank_name = 'bulk';
SELECT sb_fetch_item('bulk', 'first') AS first, sb_fetch_item('bulk', 'second') AS second;
SELECT item FROM storagebox_data.item i JOIN storagebox_data.bank b USING (bank_id)
 WHERE b.bank_name = 'bulk' AND slot IN (1000000, 1000001, 1000010) ORDER BY slot;
SELECT sb_drop_bank('bulk');
