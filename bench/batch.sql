-- bench/batch.sql: sb_fetch_items against 1,000 sb_fetch_item calls in one
-- statement (issue 12's bench figure).  Each round makes two fresh banks of
-- 2,000 items and times, alternately, one statement of each kind that gives
-- 1,000 new dedup_ids their items.  Prints the median time per assignment
-- of each and their ratio, and a floor: one INSERT of the same 1,000 claim
-- rows into a plain table shaped like storagebox_data.claim (its two unique
-- keys and item copy), which writes what an assignment must write and
-- nothing else.  Run as the owner: psql -f bench/batch.sql
-- (it creates and drops banks named sb_bench_batch_*).
\set QUIET on
\set rounds 11
CREATE TEMP TABLE batch_timing (round int, method text, us float8);
DROP TABLE IF EXISTS sb_bench_floor;
CREATE TABLE sb_bench_floor (bank_id int, slot bigint, scope_id int, dedup_id text COLLATE "C",
                             item text COLLATE "C", held_since timestamptz, hold_expires timestamptz,
                             PRIMARY KEY (bank_id, slot), UNIQUE (scope_id, dedup_id));
CREATE FUNCTION pg_temp.time_assignments(p_method text, p_bank text) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    n bigint;
BEGIN
    t0 := clock_timestamp();
    IF p_method = 'single' THEN
        SELECT count(sb_fetch_item(p_bank, 'u' || g)) INTO n FROM generate_series(1, 1000) g;
    ELSIF p_method = 'floor' THEN
        WITH ins AS (
            INSERT INTO sb_bench_floor
            SELECT hashtext(p_bank), g, hashtext(p_bank), 'u' || g, p_bank || '-' || g, clock_timestamp(), NULL
              FROM generate_series(1, 1000) g RETURNING 1)
        SELECT count(*) INTO n FROM ins;
    ELSE
        SELECT count(item) INTO n
          FROM sb_fetch_items(p_bank, ARRAY(SELECT 'u' || g FROM generate_series(1, 1000) g));
    END IF;
    IF n <> 1000 THEN
        RAISE EXCEPTION 'expected 1000 items, got %', n;
    END IF;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / 1000;
END $$;
\o /dev/null
SELECT format('SELECT sb_create_bank(%L), sb_add_items(%L, ARRAY(SELECT %L || g FROM generate_series(1, 2000) g))',
              b, b, b || '-')
  FROM generate_series(1, :rounds) r, unnest(ARRAY['single', 'batch']) m,
       LATERAL (SELECT 'sb_bench_batch_' || m || r AS b) n \gexec
SELECT format('INSERT INTO batch_timing SELECT %s, %L, pg_temp.time_assignments(%L, %L)',
              r, m, m, 'sb_bench_batch_' || m || r)
  FROM generate_series(1, :rounds) r, unnest(ARRAY['single', 'batch', 'floor']) m \gexec
SELECT format('SELECT sb_drop_bank(%L)', 'sb_bench_batch_' || m || r)
  FROM generate_series(1, :rounds) r, unnest(ARRAY['single', 'batch']) m \gexec
\o
\set QUIET off
SELECT method, count(*) AS rounds,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY us))::numeric, 2) AS median_us_per_assignment
  FROM batch_timing GROUP BY method ORDER BY method;
SELECT round(((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FROM batch_timing WHERE method = 'single')
            / (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FROM batch_timing WHERE method = 'batch'))::numeric, 2)
       AS batch_speedup,
       round(((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FROM batch_timing WHERE method = 'single')
            / (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FROM batch_timing WHERE method = 'floor'))::numeric, 2)
       AS floor_speedup_bound;
DROP TABLE sb_bench_floor;
