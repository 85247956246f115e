
-- Argument checks (the C flavour's src/args.c).  Each hands back the value
-- it checked, so that callers use it as a simple expression: an error then
-- shows the callers' own lines, never the text of an internal statement.
-- Limits: names 200 bytes, dedup_ids 1024, items 2048 (btree keys).
CREATE FUNCTION storagebox_data.checked_name(what text, value text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    lim integer := CASE what WHEN 'dedup_id' THEN 1024 WHEN 'item' THEN 2048 ELSE 200 END;
    len integer := pg_catalog.octet_length(value);
BEGIN
    IF value IS NULL THEN
        RAISE EXCEPTION '% must not be null', what USING ERRCODE = 'null_value_not_allowed';
    ELSIF len OPERATOR(pg_catalog.=) 0 THEN
        RAISE EXCEPTION '% must not be empty', what USING ERRCODE = 'invalid_parameter_value';
    ELSIF len OPERATOR(pg_catalog.>) lim THEN
        RAISE EXCEPTION '% is too long', what
            USING ERRCODE = 'string_data_right_truncation',
                  DETAIL = pg_catalog.format('The value is %s bytes long; the limit is %s bytes.', len, lim);
    END IF;
    RETURN value;
END
$$;

CREATE FUNCTION storagebox_data.checked_items(items text[])
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
    RETURN storagebox_data.checked_array('items', items);
END
$$;

-- An array argument whose elements are checked like one value each: items
-- (sb_add_items) or dedup_ids (sb_fetch_items).  The first bad element, in
-- storage order, as the C check walks them.
CREATE FUNCTION storagebox_data.checked_array(what text, elems text[])
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
DECLARE
    one text := CASE what WHEN 'items' THEN 'item' ELSE 'dedup_id' END;
    lim integer := CASE what WHEN 'items' THEN 2048 ELSE 1024 END;
    pos bigint;
    len integer;
BEGIN
    IF elems IS NULL THEN
        RAISE EXCEPTION '% must not be null', what USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT u.ord, pg_catalog.octet_length(u.x) INTO pos, len
      FROM pg_catalog.unnest(elems) WITH ORDINALITY AS u(x, ord)
     WHERE u.x IS NULL
        OR pg_catalog.octet_length(u.x) OPERATOR(pg_catalog.=) 0
        OR pg_catalog.octet_length(u.x) OPERATOR(pg_catalog.>) lim
     ORDER BY u.ord LIMIT 1;
    IF pos IS NULL THEN
        RETURN elems;
    ELSIF len IS NULL THEN
        RAISE EXCEPTION '% must not contain null', what
            USING ERRCODE = 'null_value_not_allowed',
                  DETAIL = pg_catalog.format('Element %s is null.', pos);
    ELSIF len OPERATOR(pg_catalog.=) 0 THEN
        RAISE EXCEPTION '% must not contain an empty string', what
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('Element %s is empty.', pos);
    ELSE
        RAISE EXCEPTION '% is too long', one
            USING ERRCODE = 'string_data_right_truncation',
                  DETAIL = pg_catalog.format('Element %s is %s bytes long; the limit is %s bytes.', pos, len, lim);
    END IF;
END
$$;

-- The hold_for of sb_hold_item: not null, and a time after now that a
-- timestamp can hold.
CREATE FUNCTION storagebox_data.checked_hold_for(hold_for interval)
RETURNS interval
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    v_now timestamptz := pg_catalog.clock_timestamp();
    v_end timestamptz;
BEGIN
    IF hold_for IS NULL THEN
        RAISE EXCEPTION 'hold_for must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    BEGIN
        v_end := v_now OPERATOR(pg_catalog.+) hold_for;
    EXCEPTION WHEN datetime_field_overflow THEN
        RAISE EXCEPTION 'hold_for is out of range'
            USING ERRCODE = 'datetime_field_overflow',
                  DETAIL = 'A hold must end at a time that a timestamp can hold.',
                  HINT = 'Use sb_fetch_item() for an item that is kept until it is released.';
    END;
    IF v_end OPERATOR(pg_catalog.<=) v_now THEN
        RAISE EXCEPTION 'hold_for must be positive'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The hold given would end at or before the time it starts.';
    END IF;
    RETURN hold_for;
END
$$;

/*
 * storagebox.max_count, the largest count of one batch.  The C flavour has
 * a PGC_SUSET setting; without C there is no such setting, so the SQL
 * flavour keeps the value in this table of at most one row, which only the
 * extension's owner (or a role the owner grants INSERT and UPDATE) can
 * change.  No row means the default, 100:
 *     INSERT INTO storagebox_data.setting (max_count) VALUES (1000)
 *         ON CONFLICT (one_row) DO UPDATE SET max_count = excluded.max_count;
 * The trigger refuses a value outside 1 .. 1000000 with 22023.  pg_dump
 * keeps the row (the install script makes none, so a restore cannot
 * collide with it).
 */
CREATE TABLE storagebox_data.setting (
    one_row   boolean PRIMARY KEY DEFAULT true CHECK (one_row),
    max_count integer NOT NULL DEFAULT 100
);
REVOKE ALL ON storagebox_data.setting FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('storagebox_data.setting', '');

CREATE FUNCTION storagebox_data.setting_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.max_count IS NULL
       OR NEW.max_count OPERATOR(pg_catalog.<) 1
       OR NEW.max_count OPERATOR(pg_catalog.>) 1000000 THEN
        RAISE EXCEPTION 'storagebox.max_count must be between 1 and 1000000'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The value given was %s.', COALESCE(NEW.max_count::text, 'NULL'));
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER setting_check BEFORE INSERT OR UPDATE ON storagebox_data.setting
    FOR EACH ROW EXECUTE FUNCTION storagebox_data.setting_check();
