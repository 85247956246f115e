-- storagebox: fetch with a dedup_id never seen before (-D bank=...).
SELECT sb_fetch_item(:bank, nextval('bench_dedup_seq')::text);
