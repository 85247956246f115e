
-- Argument checks (the C flavour's src/args.c).  Each hands back the value
-- it checked, so that callers use it as a simple expression: an error then
-- shows the callers' own lines, never the text of an internal statement.
-- Limits: names 200 bytes, dedup_ids 1024, items 2048 (btree keys).
-- checked_name also runs the Citus guard (citus.sql), so it is STABLE.
CREATE FUNCTION storagebox_data.checked_name(what text, value text)
RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE
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
    -- every function of the API checks a name first: the Citus guard (1.5)
    PERFORM storagebox_data.require_local_node();
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

