
-- Privileges: nothing is executable or readable by PUBLIC but what the C
-- flavour grants (dispenser_next_value, behind sb_dispensers), plus the
-- internal functions that the caller-rights bodies of the dispensers and
-- of the bank functions call by oid (they check the caller's rights).
-- This piece: the objects 1.3 had; acl_1.4.sql: those 1.4 added.
REVOKE ALL ON FUNCTION storagebox_data.checked_name(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.checked_items(text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.setting_check() FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.load_items(integer, bigint, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.settle(integer, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.bank_by_name(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.dispenser_by_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_create_bank(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_add_items(text, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_fetch_item(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_lookup(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_release(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_drop_bank(text) FROM PUBLIC;
REVOKE ALL ON @extschema@.sb_banks FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_create_dispenser(text, text, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_drop_dispenser(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_next(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_next(text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_forward() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_forward(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_reverse() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_reverse(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_grant_dispenser(text, regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_revoke_dispenser(text, regrole) FROM PUBLIC;
REVOKE ALL ON @extschema@.sb_dispensers FROM PUBLIC;
GRANT EXECUTE ON FUNCTION storagebox_data.dispenser_next_value(regclass) TO PUBLIC;
GRANT EXECUTE ON FUNCTION storagebox_data.peek(regclass, name) TO PUBLIC;
GRANT EXECUTE ON FUNCTION storagebox_data.take(text, integer, boolean, name) TO PUBLIC;
