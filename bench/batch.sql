-- bench/batch.sql: sb_fetch_items against 1,000 sb_fetch_item calls in one
-- statement (issue 12's bench figure).  Each round makes two fresh banks of
-- 2,000 items and times, alternately, one statement of each kind that gives
-- 1,000 new dedup_ids their items.  Prints the median time per assignment
-- of each and their ratio.  Run as the owner: psql -f bench/batch.sql
-- (it creates and drops banks named sb_bench_batch_*).
\set QUIET on
\set rounds 11
CREATE TEMP TABLE batch_timing (round int, method text, us float8);
CREATE FUNCTION pg_temp.time_assignments(p_method text, p_bank text) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    n bigint;
BEGIN
    t0 := clock_timestamp();
    IF p_method = 'single' THEN
        SELECT count(sb_fetch_item(p_bank, 'u' || g)) INTO n FROM generate_series(1, 1000) g;
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
  FROM generate_series(1, :rounds) r, unnest(ARRAY['single', 'batch']) m \gexec
SELECT format('SELECT sb_drop_bank(%L)', 'sb_bench_batch_' || m || r)
  FROM generate_series(1, :rounds) r, unnest(ARRAY['single', 'batch']) m \gexec
\o
\set QUIET off
SELECT method, count(*) AS rounds,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY us))::numeric, 2) AS median_us_per_assignment
  FROM batch_timing GROUP BY method ORDER BY method;
SELECT round(((SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FROM batch_timing WHERE method = 'single')
            / (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY us) FROM batch_timing WHERE method = 'batch'))::numeric, 2)
       AS batch_speedup;
