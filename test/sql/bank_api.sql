-- Every bank function, with the example of the README.
SET client_min_messages = warning;

-- a voucher bank
SELECT sb_create_bank('vouchers');
SELECT sb_add_items('vouchers', ARRAY['V-001', 'V-002', 'V-003']);
-- a re-run of the same load adds nothing; repeats inside one array count once
SELECT sb_add_items('vouchers', ARRAY['V-001', 'V-002', 'V-003']);
SELECT sb_add_items('vouchers', ARRAY['V-004', 'V-004', 'V-001', 'V-005']);
SELECT sb_add_items('vouchers', '{}');
SELECT bank, dedup_scope, items_total, items_handed_out, items_left
  FROM sb_banks WHERE bank = 'vouchers';

-- items come out in load order; each dedup_id gets one and keeps it
SELECT sb_fetch_item('vouchers', 'alice@example.com') AS alice,
       sb_fetch_item('vouchers', 'bob@example.com') AS bob;
SELECT sb_fetch_item('vouchers', 'alice@example.com') AS alice_again;
SELECT sb_lookup('vouchers', 'alice@example.com') AS alice,
       sb_lookup('vouchers', 'carol@example.com') AS carol_has_none;
SELECT items_handed_out, items_left FROM sb_banks WHERE bank = 'vouchers';

-- release puts the item back and forgets the holder
SELECT sb_release('vouchers', 'bob@example.com') AS released;
SELECT sb_release('vouchers', 'bob@example.com') AS released_twice;
SELECT sb_lookup('vouchers', 'bob@example.com') AS bob_after_release;
SELECT items_handed_out, items_left FROM sb_banks WHERE bank = 'vouchers';

-- drain it: new slots first, then the released one, then NULL
SELECT d, sb_fetch_item('vouchers', d) AS item
  FROM unnest(ARRAY['u3', 'u4', 'u5', 'u6', 'u7']) AS d;
SELECT items_total, items_handed_out, items_left FROM sb_banks WHERE bank = 'vouchers';
-- a holder still gets its item back after the bank ran out
SELECT sb_fetch_item('vouchers', 'alice@example.com') AS alice_after_sold_out;
-- sold out stays sold out, and asking takes nothing
SELECT sb_fetch_item('vouchers', 'late') AS late;
SELECT sb_lookup('vouchers', 'late') AS late_holds;

-- topping up a sold-out bank hands out the new items
SELECT sb_add_items('vouchers', ARRAY['V-006', 'V-007']);
SELECT sb_fetch_item('vouchers', 'late') AS late, sb_fetch_item('vouchers', 'later') AS later;
SELECT items_total, items_handed_out, items_left FROM sb_banks WHERE bank = 'vouchers';

-- three classes share one scope: a student gets a place in only one
SELECT sb_create_bank('class_a', 'spring_term');
SELECT sb_create_bank('class_b', 'spring_term');
SELECT sb_create_bank('class_c', 'spring_term');
SELECT sb_add_items('class_a', ARRAY['A1', 'A2']);
SELECT sb_add_items('class_b', ARRAY['B1', 'B2']);
SELECT sb_add_items('class_c', ARRAY['C1']);
SELECT sb_fetch_item('class_b', 'student-1') AS s1_in_b,
       sb_fetch_item('class_a', 'student-1') AS s1_asks_a,
       sb_fetch_item('class_c', 'student-1') AS s1_asks_c;
SELECT sb_lookup('class_c', 'student-1') AS s1_seen_from_c;
SELECT sb_fetch_item('class_c', 'student-2') AS s2_in_c;
-- class_c is full, but student-2 still gets their place back from it
SELECT sb_fetch_item('class_c', 'student-2') AS s2_again,
       sb_fetch_item('class_c', 'student-3') AS s3_none;
-- releasing through another bank of the scope returns it to its own bank
SELECT sb_release('class_a', 'student-1') AS s1_released;
SELECT bank, dedup_scope, items_total, items_handed_out, items_left
  FROM sb_banks WHERE dedup_scope = 'spring_term' ORDER BY bank;

-- a bank without a scope is its own scope: the same id gets one item from each
SELECT sb_create_bank('seats');
SELECT sb_add_items('seats', ARRAY['1A', '1B']);
SELECT sb_fetch_item('seats', 'student-1') AS s1_seat,
       sb_fetch_item('class_a', 'student-1') AS s1_class;

-- names and items are data, never SQL
SELECT sb_create_bank($$o'brien; DROP TABLE x; --$$);
SELECT sb_add_items($$o'brien; DROP TABLE x; --$$, ARRAY[$$'); DELETE FROM y; --$$, 'Zürich ✓', '日本']);
SELECT sb_fetch_item($$o'brien; DROP TABLE x; --$$, 'Ünïcödé ✓') AS a,
       sb_fetch_item($$o'brien; DROP TABLE x; --$$, $$"; --$$) AS b,
       sb_fetch_item($$o'brien; DROP TABLE x; --$$, 'ok') AS c;
SELECT bank, items_left FROM sb_banks WHERE bank LIKE 'o''brien%';

-- drop removes the bank, its items and holders; the shared scope stays for the others
SELECT sb_drop_bank('class_a');
SELECT sb_lookup('class_b', 'student-1') AS s1_after_drop;
SELECT bank FROM sb_banks WHERE dedup_scope = 'spring_term' ORDER BY bank;
SELECT sb_drop_bank('class_b');
SELECT sb_drop_bank('class_c');
SELECT sb_drop_bank('seats');
SELECT sb_drop_bank('vouchers');
SELECT sb_drop_bank($$o'brien; DROP TABLE x; --$$);
SELECT count(*) AS banks FROM sb_banks;
SELECT (SELECT count(*) FROM storagebox_data.item) AS items,
       (SELECT count(*) FROM storagebox_data.claim) AS claims,
       (SELECT count(*) FROM storagebox_data.scope) AS scopes,
       (SELECT count(*) FROM storagebox_data.bank_progress) AS progress,
       (SELECT count(*) FROM pg_class WHERE relname LIKE 'bank_cursor_%') AS cursors;

-- a dropped name can be created again, empty
SELECT sb_create_bank('vouchers');
SELECT bank, items_total, items_left FROM sb_banks;
SELECT sb_drop_bank('vouchers');
