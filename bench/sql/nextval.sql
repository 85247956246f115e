-- Floor for the dispenser: a plain sequence.
SELECT nextval('bench_seq');
