-- storagebox: fetch with a dedup_id drawn from [lo, hi] (-D bank= lo= hi=).
-- Repeat figure: ids that already hold an item.  Sold-out figure: fresh ids on a sold-out bank.
\set r random(:lo, :hi)
SELECT sb_fetch_item(:bank, :r::text);
