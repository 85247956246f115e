-- Peer: fetch with a dedup_id drawn from [lo, hi] (-D bank= lo= hi=).
\set r random(:lo, :hi)
SELECT peer_fetch_item(:bank, :r::text);
