/* storagebox 1.1: the number dispenser */

\echo Use "ALTER EXTENSION storagebox UPDATE TO '1.1'" to load this file. \quit

-- One row per dispenser; its numbers live in an ordinary CYCLE sequence
-- (increment +1 forward, -1 reverse), so crash recovery, replication,
-- pg_dump and ALTER SEQUENCE ... RESTART work as for any sequence.
-- The built-in 'forward' and 'reverse' rows come with the extension and are
-- left out of pg_dump (CREATE EXTENSION makes them again); their sequences'
-- positions are dumped.
CREATE TABLE storagebox_data.dispenser (
    dispenser_name text COLLATE "C" CONSTRAINT dispenser_pkey PRIMARY KEY,
    seq            regclass NOT NULL,
    builtin        boolean NOT NULL DEFAULT false
);
CREATE SEQUENCE storagebox_data.dispenser_id_seq;
CREATE SEQUENCE storagebox_data.dispenser_forward
    AS bigint INCREMENT 1 MINVALUE 1 MAXVALUE 9223372036854775807 START 1 CYCLE;
CREATE SEQUENCE storagebox_data.dispenser_reverse
    AS bigint INCREMENT -1 MINVALUE 1 MAXVALUE 9223372036854775807
    START 9223372036854775807 CYCLE;
INSERT INTO storagebox_data.dispenser VALUES
    ('forward', 'storagebox_data.dispenser_forward', true),
    ('reverse', 'storagebox_data.dispenser_reverse', true);

REVOKE ALL ON storagebox_data.dispenser, storagebox_data.dispenser_id_seq,
    storagebox_data.dispenser_forward, storagebox_data.dispenser_reverse
    FROM PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('storagebox_data.dispenser', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('storagebox_data.dispenser_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('storagebox_data.dispenser_forward', '');
SELECT pg_catalog.pg_extension_config_dump('storagebox_data.dispenser_reverse', '');

-- The dispenser row for a name, or a 42704 error with a hint.
CREATE FUNCTION storagebox_data.dispenser_by_name(p_dispenser text)
RETURNS storagebox_data.dispenser
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d storagebox_data.dispenser;
BEGIN
    PERFORM storagebox_data.check_name('dispenser', p_dispenser);
    SELECT * INTO d FROM storagebox_data.dispenser
     WHERE dispenser_name OPERATOR(pg_catalog.=) p_dispenser FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dispenser "%" does not exist', p_dispenser
            USING ERRCODE = 'undefined_object',
                  HINT = 'Create it with sb_create_dispenser().';
    END IF;
    RETURN d;
END
$$;

CREATE FUNCTION @extschema@.sb_create_dispenser(
    dispenser text,
    direction text DEFAULT 'forward',
    min_value bigint DEFAULT 1,
    max_value bigint DEFAULT 9223372036854775807)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_seq text;
BEGIN
    PERFORM storagebox_data.check_name('dispenser', dispenser);
    IF direction IS NULL OR min_value IS NULL OR max_value IS NULL THEN
        RAISE EXCEPTION '% must not be null',
              CASE WHEN direction IS NULL THEN 'direction'
                   WHEN min_value IS NULL THEN 'min_value'
                   ELSE 'max_value' END
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF direction OPERATOR(pg_catalog.<>) ALL (ARRAY['forward', 'reverse']) THEN
        RAISE EXCEPTION 'direction must be "forward" or "reverse"'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The direction given was %L.', direction);
    END IF;
    IF min_value OPERATOR(pg_catalog.>=) max_value THEN
        RAISE EXCEPTION 'min_value must be less than max_value'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The range given was %s to %s.', min_value, max_value);
    END IF;
    IF EXISTS (SELECT FROM storagebox_data.dispenser d
                WHERE d.dispenser_name OPERATOR(pg_catalog.=) dispenser) THEN
        RAISE EXCEPTION 'dispenser "%" already exists', dispenser
            USING ERRCODE = 'duplicate_object';
    END IF;

    v_seq := pg_catalog.format('storagebox_data.dispenser_%s',
                               pg_catalog.nextval('storagebox_data.dispenser_id_seq'));
    EXECUTE pg_catalog.format(
        'CREATE SEQUENCE %s AS bigint INCREMENT %s MINVALUE %s MAXVALUE %s START %s CYCLE',
        v_seq,
        CASE direction WHEN 'forward' THEN 1 ELSE -1 END,
        min_value, max_value,
        CASE direction WHEN 'forward' THEN min_value ELSE max_value END);
    BEGIN
        INSERT INTO storagebox_data.dispenser (dispenser_name, seq)
        VALUES (dispenser, v_seq::pg_catalog.regclass);
    EXCEPTION WHEN unique_violation THEN
        RAISE EXCEPTION 'dispenser "%" already exists', dispenser
            USING ERRCODE = 'duplicate_object';
    END;
END
$$;

CREATE FUNCTION @extschema@.sb_drop_dispenser(dispenser text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d storagebox_data.dispenser;
BEGIN
    d := storagebox_data.dispenser_by_name(dispenser);
    IF d.builtin THEN
        RAISE EXCEPTION 'cannot drop built-in dispenser "%"', dispenser
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'It comes with the extension and backs sb_forward() and sb_reverse().';
    END IF;
    -- DROP waits for callers in flight (they hold a lock on the sequence).
    EXECUTE pg_catalog.format('DROP SEQUENCE %s', d.seq);
    DELETE FROM storagebox_data.dispenser t
     WHERE t.dispenser_name OPERATOR(pg_catalog.=) dispenser;
END
$$;

CREATE FUNCTION @extschema@.sb_next(dispenser text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'sb_next'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.sb_next(dispenser text, count integer)
RETURNS bigint[]
AS 'MODULE_PATHNAME', 'sb_next_batch'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.sb_forward()
RETURNS bigint
AS 'MODULE_PATHNAME', 'sb_forward'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.sb_forward(count integer)
RETURNS bigint[]
AS 'MODULE_PATHNAME', 'sb_forward_batch'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.sb_reverse()
RETURNS bigint
AS 'MODULE_PATHNAME', 'sb_reverse'
LANGUAGE C VOLATILE;

CREATE FUNCTION @extschema@.sb_reverse(count integer)
RETURNS bigint[]
AS 'MODULE_PATHNAME', 'sb_reverse_batch'
LANGUAGE C VOLATILE;

CREATE FUNCTION storagebox_data.dispenser_next_value(seq regclass)
RETURNS bigint
AS 'MODULE_PATHNAME', 'sb_dispenser_next_value'
LANGUAGE C VOLATILE STRICT;

CREATE VIEW @extschema@.sb_dispensers AS
SELECT d.dispenser_name AS dispenser,
       CASE WHEN s.seqincrement OPERATOR(pg_catalog.>) 0
            THEN 'forward' ELSE 'reverse' END AS direction,
       s.seqmin AS min_value,
       s.seqmax AS max_value,
       storagebox_data.dispenser_next_value(d.seq) AS next_value
  FROM storagebox_data.dispenser d
  JOIN pg_catalog.pg_sequence s
    ON s.seqrelid OPERATOR(pg_catalog.=) d.seq::pg_catalog.oid;

REVOKE ALL ON FUNCTION storagebox_data.dispenser_by_name(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION storagebox_data.dispenser_next_value(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_create_dispenser(text, text, bigint, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_drop_dispenser(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_next(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_next(text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_forward() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_forward(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_reverse() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_reverse(integer) FROM PUBLIC;
REVOKE ALL ON @extschema@.sb_dispensers FROM PUBLIC;
