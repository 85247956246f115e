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
