
-- The privileges of the objects 1.4 added (acl.sql has those of the
-- objects 1.3 had).
REVOKE ALL ON FUNCTION storagebox_data.checked_array(text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.checked_hold_for(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.claim_row(integer, integer, text, interval, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.lock_own(integer, text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.wait_for_row(integer, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.held_item(integer, integer, text, interval, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.fetch_new(integer, integer, regclass, bigint, text, interval, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.sold_out(integer, bigint, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.fetch_one(integer, integer, regclass, bigint, text, interval, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.reraise(text, text, text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.check_right(text, regclass, name, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.check_right(integer, integer, name, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.restricted(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_hold_item(text, text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_confirm(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_fetch_items(text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_holders(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION storagebox_data.fetch_item(text, text, boolean, interval, name) TO PUBLIC;
GRANT EXECUTE ON FUNCTION storagebox_data.fetch_items(text, text[], name) TO PUBLIC;
GRANT EXECUTE ON FUNCTION storagebox_data.lookup(text, text, name) TO PUBLIC;
GRANT EXECUTE ON FUNCTION storagebox_data.release(text, text, name) TO PUBLIC;
GRANT EXECUTE ON FUNCTION storagebox_data.confirm(text, text, name) TO PUBLIC;
GRANT EXECUTE ON FUNCTION storagebox_data.holders(text, name) TO PUBLIC;
