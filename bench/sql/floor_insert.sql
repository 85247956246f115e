-- Floor for a new-dedup_id fetch: one single-row INSERT ... ON CONFLICT DO NOTHING
-- into a plain table with a text primary key.
INSERT INTO bench_floor (k) VALUES (nextval('bench_floor_seq')::text) ON CONFLICT DO NOTHING;
