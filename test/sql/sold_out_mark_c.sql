-- The sold-out mark (1.3): once a fetch has found a bank sold out, later
-- sold-out answers read the mark instead of surveying.  A committed
-- sb_release or sb_add_items invalidates it; a rolled-back one does not.
-- Also: the claim row carries its item, and a repeat is answered from it.
SET client_min_messages = warning;

-- the current mark of a bank: its epoch, or -1 for none; and its free_epoch
CREATE FUNCTION pg_temp.mark(p_bank text, OUT settled bigint, OUT mark_epoch bigint,
    OUT free_epoch bigint, OUT items_total bigint)
LANGUAGE sql AS $$
    SELECT p.settled_upto, p.sold_out_epoch, b.free_epoch, b.items_total
      FROM storagebox_data.bank b
      JOIN storagebox_data.bank_progress p USING (bank_id)
     WHERE b.bank_name = p_bank
     ORDER BY p.settled_upto DESC, p.sold_out_epoch DESC LIMIT 1
$$;

SELECT sb_create_bank('marked');
SELECT sb_add_items('marked', ARRAY['m-1', 'm-2']);
SELECT sb_fetch_item('marked', 'a') AS a, sb_fetch_item('marked', 'b') AS b;
SELECT * FROM pg_temp.mark('marked');                 -- no mark yet
SELECT sb_fetch_item('marked', 'c') AS c_sold_out;
SELECT * FROM pg_temp.mark('marked');                 -- marked at epoch 0
SELECT sb_fetch_item('marked', 'd') AS d_sold_out, sb_fetch_item('marked', 'a') AS a_repeat;

-- a release that rolls back leaves the mark valid
BEGIN;
SELECT sb_release('marked', 'a') AS released_then_rolled_back;
ROLLBACK;
SELECT * FROM pg_temp.mark('marked');
SELECT sb_fetch_item('marked', 'e') AS e_sold_out;

-- a committed release invalidates it: the freed item is handed out again
SELECT sb_release('marked', 'a') AS released;
SELECT * FROM pg_temp.mark('marked');                 -- epoch 1 > mark 0
SELECT sb_fetch_item('marked', 'f') AS f_gets_the_freed_item;
SELECT sb_fetch_item('marked', 'g') AS g_sold_out;
SELECT * FROM pg_temp.mark('marked');                 -- marked at epoch 1

-- sb_add_items invalidates it too
SELECT sb_add_items('marked', ARRAY['m-3']);
SELECT sb_fetch_item('marked', 'h') AS h_gets_the_new_item;
SELECT sb_fetch_item('marked', 'i') AS i_sold_out;
SELECT * FROM pg_temp.mark('marked');

-- marks do not pile up: older rows are pruned when a new mark is set
SELECT count(*) AS progress_rows FROM storagebox_data.bank_progress p
  JOIN storagebox_data.bank b USING (bank_id) WHERE b.bank_name = 'marked';

-- every claim row carries the item of its slot
SELECT c.dedup_id, c.item, c.item = i.item AS same_as_slot
  FROM storagebox_data.claim c
  JOIN storagebox_data.item i USING (bank_id, slot)
  JOIN storagebox_data.bank b USING (bank_id)
 WHERE b.bank_name = 'marked' ORDER BY c.slot;

SELECT sb_drop_bank('marked');
