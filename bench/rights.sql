-- bench/rights.sql: what the per-bank rights check costs (issue 12: under
-- 3% of the fetch figure).  Run as a superuser on a server with storagebox
-- installed: psql -f bench/rights.sql.  It creates the role sb_bench_app and
-- the banks sb_bench_open (no grants: unrestricted) and sb_bench_closed
-- (sb_bench_app granted fetch), then, as sb_bench_app, times in one backend:
--   lookups: 200,000 sb_lookup calls per statement (the cheapest call that
--            checks the right, so the check weighs most there)
--   fetches: 20,000 new sb_fetch_item calls per statement, rolled back
-- alternating the two banks, 5 rounds each, and prints the medians in µs
-- per call.  Compare with the same run on a build without the check to get
-- the check's cost.
\set QUIET on
\set ON_ERROR_STOP on
DO $$BEGIN CREATE ROLE sb_bench_app; EXCEPTION WHEN duplicate_object THEN NULL; END$$;
GRANT EXECUTE ON FUNCTION sb_lookup(text, text), sb_fetch_item(text, text) TO sb_bench_app;
\o /dev/null
SELECT sb_drop_bank(b) FROM sb_banks, LATERAL (SELECT bank AS b) x WHERE bank IN ('sb_bench_open', 'sb_bench_closed');
SELECT sb_create_bank(b), sb_add_items(b, ARRAY(SELECT b || '-' || g FROM generate_series(1, 120000) g))
  FROM unnest(ARRAY['sb_bench_open', 'sb_bench_closed']) b;
SELECT sb_grant('sb_bench_closed', 'sb_bench_app', 'fetch');
\o
CREATE TEMP TABLE rights_timing (what text, bank text, us float8);
GRANT ALL ON rights_timing TO sb_bench_app;
SET ROLE sb_bench_app;
CREATE FUNCTION pg_temp.time_calls(p_what text, p_bank text, p_round int) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    n bigint;
    calls int := CASE p_what WHEN 'lookup' THEN 200000 ELSE 20000 END;
BEGIN
    t0 := clock_timestamp();
    IF p_what = 'lookup' THEN
        SELECT count(sb_lookup(p_bank, 'nobody')) INTO n FROM generate_series(1, calls);
    ELSE
        BEGIN
            SELECT count(sb_fetch_item(p_bank, 'r' || p_round || '-' || g)) INTO n
              FROM generate_series(1, calls) g;
            RAISE EXCEPTION 'roll back' USING ERRCODE = 'P0001';
        EXCEPTION WHEN raise_exception THEN NULL;
        END;
    END IF;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / calls;
END $$;
SELECT format('INSERT INTO rights_timing SELECT %L, %L, pg_temp.time_calls(%L, %L, %s)', w, b, w, b, r)
  FROM generate_series(1, 5) r, unnest(ARRAY['lookup', 'fetch']) w,
       unnest(ARRAY['sb_bench_open', 'sb_bench_closed']) b \gexec
RESET ROLE;
\set QUIET off
SELECT what, bank, count(*) AS rounds,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY us))::numeric, 3) AS median_us_per_call
  FROM rights_timing GROUP BY what, bank ORDER BY what, bank;
\set QUIET on
\o /dev/null
SELECT sb_drop_bank(b) FROM unnest(ARRAY['sb_bench_open', 'sb_bench_closed']) b;
\o
