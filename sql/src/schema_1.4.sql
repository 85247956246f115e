
/*
 * 1.4: holds that expire (sb_hold_item, sb_confirm).  Both flavours take
 * this piece as it is: the C flavour in its 1.3--1.4 upgrade script, the SQL
 * flavour in its install script and its 1.3--1.4 upgrade script.
 *
 * held_since   when the current holder got the item (clock_timestamp() of
 *              the claim); NULL for a released row and for rows claimed
 *              before 1.4.
 * hold_expires NULL for a permanent claim (a fetch, or a confirmed hold);
 *              otherwise the hold lasts while clock_timestamp() is before
 *              it.  A hold past its expiry holds nothing: its item is free
 *              for the next fetch, which takes the row over (claim_held
 *              finds such rows, oldest expiry first).
 */
ALTER TABLE storagebox_data.claim
    ADD COLUMN held_since timestamptz,
    ADD COLUMN hold_expires timestamptz;
CREATE INDEX claim_held ON storagebox_data.claim (bank_id, hold_expires)
    WHERE hold_expires IS NOT NULL;
