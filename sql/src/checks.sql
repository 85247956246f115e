
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
DECLARE
    pos bigint;
    len integer;
BEGIN
    IF items IS NULL THEN
        RAISE EXCEPTION 'items must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- the first bad element, in storage order, as the C check walks them
    SELECT u.ord, pg_catalog.octet_length(u.x) INTO pos, len
      FROM pg_catalog.unnest(items) WITH ORDINALITY AS u(x, ord)
     WHERE u.x IS NULL
        OR pg_catalog.octet_length(u.x) OPERATOR(pg_catalog.=) 0
        OR pg_catalog.octet_length(u.x) OPERATOR(pg_catalog.>) 2048
     ORDER BY u.ord LIMIT 1;
    IF pos IS NULL THEN
        RETURN items;
    ELSIF len IS NULL THEN
        RAISE EXCEPTION 'items must not contain null'
            USING ERRCODE = 'null_value_not_allowed',
                  DETAIL = pg_catalog.format('Element %s is null.', pos);
    ELSIF len OPERATOR(pg_catalog.=) 0 THEN
        RAISE EXCEPTION 'items must not contain an empty string'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('Element %s is empty.', pos);
    ELSE
        RAISE EXCEPTION 'item is too long'
            USING ERRCODE = 'string_data_right_truncation',
                  DETAIL = pg_catalog.format('Element %s is %s bytes long; the limit is %s bytes.', pos, len, 2048);
    END IF;
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
