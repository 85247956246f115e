/*
 * peer.sql: the hand-written PL/pgSQL item bank that storagebox is measured
 * against (issue 4).  It is what a careful user writes without the
 * extension: an items table with a claimed flag, a claim by
 * SELECT ... FOR UPDATE SKIP LOCKED LIMIT 1 followed by UPDATE ... SET
 * claimed = true, and dedup through a holders table with
 * INSERT ... ON CONFLICT.  It has the same shape as sb_fetch_item, so the
 * same pgbench scripts run against both.
 *
 * It is deliberately reasonable, not a straw man: a partial index on the
 * unclaimed items makes the claim an index scan that stops at the first
 * unlocked row, and a repeat fetch is answered from the holders table
 * before any claim is tried.
 *
 * Load with: psql -f bench/peer.sql (bench/run.sh does it).
 */

CREATE TABLE peer_item (
    bank    text NOT NULL,
    id      bigint NOT NULL,
    item    text NOT NULL,
    claimed boolean NOT NULL DEFAULT false,
    PRIMARY KEY (bank, id)
);
CREATE INDEX peer_item_unclaimed ON peer_item (bank, id) WHERE NOT claimed;

CREATE TABLE peer_holder (
    bank     text NOT NULL,
    dedup_id text NOT NULL,
    item     text NOT NULL,
    PRIMARY KEY (bank, dedup_id)
);

-- Append items to a bank, numbered after the ones already there.
CREATE FUNCTION peer_add_items(p_bank text, p_items text[])
RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    v_base  bigint;
    v_added bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext(p_bank));
    SELECT coalesce(max(id), 0) INTO v_base FROM peer_item WHERE bank = p_bank;
    INSERT INTO peer_item (bank, id, item)
    SELECT p_bank, v_base + u.ord, u.item
      FROM unnest(p_items) WITH ORDINALITY AS u(item, ord);
    GET DIAGNOSTICS v_added = ROW_COUNT;
    RETURN v_added;
END
$$;

-- The item p_dedup_id holds, else a new one, else NULL when none is left.
CREATE FUNCTION peer_fetch_item(p_bank text, p_dedup_id text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    v_id   bigint;
    v_item text;
BEGIN
    SELECT h.item INTO v_item FROM peer_holder h
     WHERE h.bank = p_bank AND h.dedup_id = p_dedup_id;
    IF FOUND THEN
        RETURN v_item;
    END IF;

    SELECT i.id, i.item INTO v_id, v_item FROM peer_item i
     WHERE i.bank = p_bank AND NOT i.claimed
     ORDER BY i.id
     LIMIT 1
       FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;

    INSERT INTO peer_holder (bank, dedup_id, item)
    VALUES (p_bank, p_dedup_id, v_item)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        -- Another session got this dedup_id first; our row lock goes away
        -- at commit and the item stays unclaimed.
        SELECT h.item INTO v_item FROM peer_holder h
         WHERE h.bank = p_bank AND h.dedup_id = p_dedup_id;
        RETURN v_item;
    END IF;

    UPDATE peer_item SET claimed = true WHERE bank = p_bank AND id = v_id;
    RETURN v_item;
END
$$;
