-- Peer (bench/peer.sql): fetch with a dedup_id never seen before (-D bank=...).
SELECT peer_fetch_item(:bank, nextval('bench_dedup_seq')::text);
