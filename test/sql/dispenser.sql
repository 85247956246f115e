-- The number dispenser: PEZ's forward and reverse counters.

-- expected/dispenser_1.out: the SQL flavour, whose hint names its batch
-- limit storagebox_data.setting.max_count instead of the setting
-- storagebox.max_count.
\set ECHO none
\i test/sql/include/helpers.sql
\set ECHO all
SET client_min_messages = warning;

-- CREATE EXTENSION sets up 'forward' and 'reverse' with the full range
-- (RESTART puts them back at the start it gave them, whatever the tests
-- before this one in the database drew)
ALTER SEQUENCE storagebox_data.dispenser_forward RESTART;
ALTER SEQUENCE storagebox_data.dispenser_reverse RESTART;
SELECT * FROM sb_dispensers ORDER BY dispenser;

-- PEZ v1 (one number) and v2 (always an array)
SELECT sb_forward() AS v1_forward;
SELECT sb_forward(5) AS v2_forward;
SELECT sb_forward(1) AS v2_forward_one;
SELECT sb_reverse() AS v1_reverse;
SELECT sb_reverse(3) AS v2_reverse;
SELECT sb_next('forward') AS next_forward, sb_next('reverse', 2) AS next_reverse;
SELECT dispenser, next_value FROM sb_dispensers ORDER BY dispenser;

-- a deli counter from 1 to 5 that wraps
SELECT sb_create_dispenser('deli', 'forward', 1, 5);
SELECT sb_next('deli') AS a, sb_next('deli') AS b;
SELECT next_value FROM sb_dispensers WHERE dispenser = 'deli';
SELECT sb_next('deli', 4) AS batch_across_wrap;
SELECT sb_next('deli', 5) AS full_turn;
-- a batch is at most one turn: every number in it is different
SELECT regress.try($$SELECT sb_next('deli', 6)$$) AS more_than_a_turn;
SELECT regress.try($$SELECT sb_next('deli', 100)$$) AS far_more_than_a_turn;
SELECT next_value FROM sb_dispensers WHERE dispenser = 'deli';

-- a countdown from 3 to -2 that wraps back to 3
SELECT sb_create_dispenser('countdown', 'reverse', -2, 3);
SELECT sb_next('countdown', 4) AS first, sb_next('countdown', 4) AS across_wrap;
SELECT * FROM sb_dispensers WHERE dispenser = 'countdown';

-- the ends of bigint
SELECT sb_create_dispenser('top', 'forward', 9223372036854775805, 9223372036854775807);
SELECT sb_next('top', 2) AS first, sb_next('top', 3) AS wraps_at_max;
SELECT regress.try($$SELECT sb_next('top', 4)$$) AS more_than_a_turn;
SELECT sb_create_dispenser('bottom', 'reverse', -9223372036854775808, -9223372036854775806);
SELECT sb_next('bottom', 2) AS first, sb_next('bottom', 3) AS wraps_at_min;
-- the whole of bigint, both ways, across the wrap (2^64 numbers: no overflow)
SELECT sb_create_dispenser('all_up', 'forward', -9223372036854775808, 9223372036854775807);
SELECT sb_create_dispenser('all_down', 'reverse', -9223372036854775808, 9223372036854775807);
SELECT sb_next('all_up', 2) AS all_up, sb_next('all_down', 2) AS all_down;
SELECT seq AS all_up_seq FROM storagebox_data.dispenser WHERE dispenser_name = 'all_up' \gset
SELECT seq AS all_down_seq FROM storagebox_data.dispenser WHERE dispenser_name = 'all_down' \gset
ALTER SEQUENCE :all_up_seq RESTART WITH 9223372036854775806;
ALTER SEQUENCE :all_down_seq RESTART WITH -9223372036854775807;
SELECT sb_next('all_up', 3) AS all_up_wraps, sb_next('all_down', 3) AS all_down_wraps;
SELECT dispenser, next_value FROM sb_dispensers WHERE dispenser LIKE 'all%' ORDER BY 1;
-- the largest batch fits the largest range
SELECT regress.set_max_count(1000000);
SELECT array_length(sb_next('all_up', 1000000), 1) AS million, sb_next('all_up') AS after_it;
SELECT regress.set_max_count(NULL);

-- the sequence is an ordinary one: RESTART works and the view follows it
SELECT seq AS deli_seq FROM storagebox_data.dispenser WHERE dispenser_name = 'deli' \gset
ALTER SEQUENCE :deli_seq RESTART WITH 4;
SELECT next_value FROM sb_dispensers WHERE dispenser = 'deli';
SELECT sb_next('deli', 3) AS after_restart;

-- numbers are not transactional: a rolled back batch is not handed out again
BEGIN;
SELECT sb_next('deli', 2) AS rolled_back;
ROLLBACK;
SELECT sb_next('deli', 2) AS after_rollback;

-- storagebox.max_count bounds the batch (test/sql/max_count_c.sql and
-- max_count_sql.sql test where each flavour keeps it)
SELECT regress.max_count();
SELECT array_length(sb_next('forward', 100), 1) AS at_limit;
SELECT regress.try($$SELECT sb_next('forward', 101)$$);
SELECT regress.set_max_count(1000);
SELECT array_length(sb_next('forward', 1000), 1) AS raised_limit;
SELECT regress.try($$SELECT sb_reverse(1001)$$);
SELECT regress.set_max_count(NULL);

-- bad input
SELECT regress.try($$SELECT sb_next(NULL)$$);
SELECT regress.try($$SELECT sb_next(NULL, 2)$$);
SELECT regress.try($$SELECT sb_next('')$$);
SELECT regress.try($$SELECT sb_next('nope')$$);
SELECT regress.try($$SELECT sb_next('nope', 3)$$);
SELECT regress.try($$SELECT sb_next('deli', NULL)$$);
SELECT regress.try($$SELECT sb_next('deli', 0)$$);
SELECT regress.try($$SELECT sb_next('deli', -1)$$);
SELECT regress.try($$SELECT sb_forward(NULL)$$);
SELECT regress.try($$SELECT sb_reverse(0)$$);
SELECT regress.try($$SELECT sb_create_dispenser(NULL)$$);
SELECT regress.try($$SELECT sb_create_dispenser('')$$);
SELECT regress.try($$SELECT sb_create_dispenser('x', 'sideways')$$);
SELECT regress.try($$SELECT sb_create_dispenser('x', NULL)$$);
SELECT regress.try($$SELECT sb_create_dispenser('x', 'forward', 5, 5)$$);
SELECT regress.try($$SELECT sb_create_dispenser('x', 'reverse', 6, 5)$$);
SELECT regress.try($$SELECT sb_create_dispenser('x', 'forward', NULL, 5)$$);
SELECT regress.try($$SELECT sb_create_dispenser('deli')$$);
SELECT regress.try($$SELECT sb_create_dispenser('forward')$$);
SELECT regress.try($$SELECT sb_drop_dispenser('nope')$$);
SELECT regress.try($$SELECT sb_drop_dispenser(NULL)$$);
SELECT regress.try($$SELECT sb_drop_dispenser('forward')$$);
-- the failed calls took nothing
SELECT next_value FROM sb_dispensers WHERE dispenser = 'deli';

-- drop
SELECT sb_drop_dispenser('deli');
SELECT sb_drop_dispenser('countdown');
SELECT sb_drop_dispenser('top');
SELECT sb_drop_dispenser('bottom');
SELECT sb_drop_dispenser('all_up');
SELECT sb_drop_dispenser('all_down');
SELECT regress.try($$SELECT sb_next('deli')$$);
SELECT dispenser FROM sb_dispensers ORDER BY dispenser;
SELECT count(*) AS leftover_sequences FROM pg_class
 WHERE relnamespace = 'storagebox_data'::regnamespace AND relname ~ '^dispenser_[0-9]+$';
