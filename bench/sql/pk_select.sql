-- Floor for repeat and sold-out fetches: primary-key SELECT of one row (-D n=rows).
\set r random(1, :n)
SELECT v FROM bench_pk WHERE k = :r::text;
