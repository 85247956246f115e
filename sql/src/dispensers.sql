
/*
 * Dispensers in SQL.  The C flavour takes a run of numbers under the
 * sequence's buffer lock (src/seq_run.c); SQL has no nextval(seq, n), so:
 *
 * - Atomic, contiguous, O(1) runs: every call that moves a dispenser's
 *   sequence holds the session-level advisory lock (@SB_LOCK_DISPENSER@,
 *   sequence oid - 2^31) around reading its position and setval, single
 *   numbers included, and releases it before returning (also on error).  A
 *   run starts after the position read and ends at the setval.  Nobody else
 *   may call nextval on the sequence: the right to take numbers is SELECT
 *   on it (sb_grant_dispenser), which nextval refuses; only the extension's
 *   owner has USAGE.
 * - No repeat after a crash: every call writes the sequence's exact new
 *   position with setval, which WAL-logs it (no look-ahead, so nothing can
 *   lap on a short range, the C flavour's 1.1 bug), and, if
 *   synchronous_commit is off, sets it to local for that transaction.  A
 *   transaction that wrote WAL flushes it at commit, up to its commit
 *   record, which comes after every record its numbers depend on.  (1.5
 *   used nextval for single numbers on ranges of more than 512: a number
 *   inside nextval's 32-number look-ahead writes no WAL, and a transaction
 *   that wrote none commits without a flush even with an xid, so when the
 *   look-ahead record's own transaction had not committed, a crash could
 *   hand that number out again.  test/t/024_crash_dispenser_lookahead.pl.)
 *   A number is safe from a crash once the transaction that took it has
 *   committed; the C flavour flushes before it even returns.
 * - Who is taking: the functions callers see (sb_next, sb_forward,
 *   sb_reverse) are SQL-standard bodies (BEGIN ATOMIC) that run with the
 *   caller's rights and pass CURRENT_USER to storagebox_data.take, a
 *   SECURITY DEFINER function that checks the right for that role.  take is
 *   executable by PUBLIC but lives in storagebox_data, which PUBLIC cannot
 *   use, so nobody can name it; the bodies above refer to it by oid.
 */
CREATE FUNCTION storagebox_data.take(p_dispenser text, p_count integer, p_batch boolean, p_caller name)
RETURNS bigint[]
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_seq    regclass;
    v_inc    bigint;
    v_min    bigint;
    v_max    bigint;
    v_cycle  boolean;
    v_limit  integer;
    v_size   numeric;
    v_key    integer;
    v_last   bigint;
    v_called boolean;
    v_first  bigint;
    v_end    bigint;
BEGIN
    IF p_dispenser IS NULL THEN
        p_dispenser := storagebox_data.checked_name('dispenser', p_dispenser);
    END IF;
    IF p_batch THEN
        IF p_count IS NULL THEN
            RAISE EXCEPTION 'count must not be null' USING ERRCODE = 'null_value_not_allowed';
        END IF;
        v_limit := COALESCE((SELECT s.max_count FROM storagebox_data.setting s), 100);
        IF p_count OPERATOR(pg_catalog.<) 1 OR p_count OPERATOR(pg_catalog.>) v_limit THEN
            RAISE EXCEPTION 'count must be between 1 and %', v_limit
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = pg_catalog.format('The count given was %s.', p_count),
                      HINT = 'The limit is storagebox_data.setting.max_count, which the extension''s owner can raise.';
        END IF;
    ELSE
        p_count := 1;
    END IF;
    p_dispenser := storagebox_data.checked_name('dispenser', p_dispenser);
    IF pg_catalog.current_setting('transaction_read_only') OPERATOR(pg_catalog.=) 'on' THEN
        RAISE EXCEPTION 'cannot execute sb_next() in a read-only transaction'
            USING ERRCODE = 'read_only_sql_transaction';
    END IF;

    SELECT d.seq, s.seqincrement, s.seqmin, s.seqmax, s.seqcycle
      INTO v_seq, v_inc, v_min, v_max, v_cycle
      FROM storagebox_data.dispenser d
      JOIN pg_catalog.pg_sequence s ON s.seqrelid OPERATOR(pg_catalog.=) d.seq::pg_catalog.oid
     WHERE d.dispenser_name OPERATOR(pg_catalog.=) p_dispenser;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'dispenser "%" does not exist', p_dispenser
            USING ERRCODE = 'undefined_object',
                  HINT = 'Create it with sb_create_dispenser().';
    END IF;
    IF NOT pg_catalog.has_sequence_privilege(p_caller, v_seq::pg_catalog.oid, 'SELECT, USAGE, UPDATE') THEN
        RAISE EXCEPTION 'permission denied for dispenser "%"', p_dispenser
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('Taking numbers needs SELECT, USAGE or UPDATE on the dispenser''s sequence %s.', v_seq),
                  HINT = 'The dispenser''s manager can grant it with sb_grant_dispenser().';
    END IF;
    IF v_inc OPERATOR(pg_catalog.<>) ALL (ARRAY[1, -1]::bigint[]) OR NOT v_cycle THEN
        RAISE EXCEPTION 'sequence "%" is not shaped like a dispenser',
              (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) v_seq::pg_catalog.oid)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pg_catalog.format('A dispenser''s sequence counts by 1 or -1 and cycles; this one has INCREMENT %s and %s.',
                                             v_inc, CASE WHEN v_cycle THEN 'CYCLE' ELSE 'NO CYCLE' END);
    END IF;
    v_size := v_max::numeric OPERATOR(pg_catalog.-) v_min::numeric OPERATOR(pg_catalog.+) 1;
    IF p_count OPERATOR(pg_catalog.>) v_size THEN
        RAISE EXCEPTION 'count must not exceed the size of the range of dispenser "%"', p_dispenser
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('The count given was %s; the range %s to %s holds %s numbers.',
                                             p_count, v_min, v_max, v_size),
                  HINT = pg_catalog.format('Ask for at most %s numbers in one call; every number of a batch is then different.', v_size);
    END IF;

    -- the setval below writes WAL, so the commit of this transaction
    -- flushes the WAL that covers the run
    IF pg_catalog.current_setting('synchronous_commit') OPERATOR(pg_catalog.=) 'off' THEN
        PERFORM pg_catalog.set_config('synchronous_commit', 'local', true);
    END IF;

    v_key := (v_seq::pg_catalog.oid::bigint OPERATOR(pg_catalog.-) 2147483648)::integer;
    PERFORM pg_catalog.pg_advisory_lock(@SB_LOCK_DISPENSER@, v_key);
    BEGIN
        EXECUTE pg_catalog.format('SELECT last_value, is_called FROM %s', v_seq)
           INTO v_last, v_called;
        IF NOT v_called THEN
            v_first := v_last;
        ELSIF v_inc OPERATOR(pg_catalog.>) 0 THEN
            v_first := CASE WHEN v_last OPERATOR(pg_catalog.=) v_max THEN v_min
                            ELSE v_last OPERATOR(pg_catalog.+) 1 END;
        ELSE
            v_first := CASE WHEN v_last OPERATOR(pg_catalog.=) v_min THEN v_max
                            ELSE v_last OPERATOR(pg_catalog.-) 1 END;
        END IF;
        IF v_inc OPERATOR(pg_catalog.>) 0 THEN
            v_end := (v_min::numeric OPERATOR(pg_catalog.+)
                      ((v_first::numeric OPERATOR(pg_catalog.-) v_min::numeric
                        OPERATOR(pg_catalog.+) (p_count OPERATOR(pg_catalog.-) 1))
                       OPERATOR(pg_catalog.%) v_size))::bigint;
        ELSE
            v_end := (v_max::numeric OPERATOR(pg_catalog.-)
                      ((v_max::numeric OPERATOR(pg_catalog.-) v_first::numeric
                        OPERATOR(pg_catalog.+) (p_count OPERATOR(pg_catalog.-) 1))
                       OPERATOR(pg_catalog.%) v_size))::bigint;
        END IF;
        PERFORM pg_catalog.setval(v_seq, v_end, true);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        PERFORM pg_catalog.pg_advisory_unlock(@SB_LOCK_DISPENSER@, v_key);
        RAISE;
    END;
    PERFORM pg_catalog.pg_advisory_unlock(@SB_LOCK_DISPENSER@, v_key);

    IF p_count OPERATOR(pg_catalog.=) 1 THEN
        RETURN ARRAY[v_first];
    ELSIF v_inc OPERATOR(pg_catalog.>) 0 THEN
        IF v_first OPERATOR(pg_catalog.<=) v_end THEN
            RETURN ARRAY(SELECT pg_catalog.generate_series(v_first, v_end));
        END IF;
        RETURN ARRAY(SELECT pg_catalog.generate_series(v_first, v_max))
               OPERATOR(pg_catalog.||) ARRAY(SELECT pg_catalog.generate_series(v_min, v_end));
    ELSE
        IF v_first OPERATOR(pg_catalog.>=) v_end THEN
            RETURN ARRAY(SELECT pg_catalog.generate_series(v_first, v_end, -1));
        END IF;
        RETURN ARRAY(SELECT pg_catalog.generate_series(v_first, v_min, -1))
               OPERATOR(pg_catalog.||) ARRAY(SELECT pg_catalog.generate_series(v_max, v_end, -1));
    END IF;
END
$$;

CREATE FUNCTION @extschema@.sb_next(dispenser text)
RETURNS bigint
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT (storagebox_data.take(dispenser, NULL, false, CURRENT_USER))[1];
END;

CREATE FUNCTION @extschema@.sb_next(dispenser text, count integer)
RETURNS bigint[]
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT storagebox_data.take(dispenser, count, true, CURRENT_USER);
END;

CREATE FUNCTION @extschema@.sb_forward()
RETURNS bigint
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT (storagebox_data.take('forward', NULL, false, CURRENT_USER))[1];
END;

CREATE FUNCTION @extschema@.sb_forward(count integer)
RETURNS bigint[]
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT storagebox_data.take('forward', count, true, CURRENT_USER);
END;

CREATE FUNCTION @extschema@.sb_reverse()
RETURNS bigint
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT (storagebox_data.take('reverse', NULL, false, CURRENT_USER))[1];
END;

CREATE FUNCTION @extschema@.sb_reverse(count integer)
RETURNS bigint[]
LANGUAGE sql VOLATILE
BEGIN ATOMIC
    SELECT storagebox_data.take('reverse', count, true, CURRENT_USER);
END;

-- The position of a dispenser, for sb_dispensers: what the next call
-- starts from.  Needs SELECT or USAGE on the sequence, like
-- pg_sequence_last_value; the check is made for p_caller by peek.
CREATE FUNCTION storagebox_data.peek(seq regclass, p_caller name)
RETURNS bigint
LANGUAGE plpgsql VOLATILE STRICT
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_last   bigint;
    v_called boolean;
    v_inc    bigint;
    v_min    bigint;
    v_max    bigint;
BEGIN
    PERFORM storagebox_data.require_local_node();
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) seq::pg_catalog.oid) THEN
        RAISE EXCEPTION 'relation with OID % does not exist', seq::pg_catalog.oid
            USING ERRCODE = 'undefined_table';
    END IF;
    SELECT s.seqincrement, s.seqmin, s.seqmax INTO v_inc, v_min, v_max
      FROM pg_catalog.pg_sequence s WHERE s.seqrelid OPERATOR(pg_catalog.=) seq::pg_catalog.oid;
    IF NOT FOUND THEN
        RAISE EXCEPTION '"%" is not a sequence',
              (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) seq::pg_catalog.oid)
            USING ERRCODE = 'wrong_object_type';
    END IF;
    IF NOT pg_catalog.has_sequence_privilege(p_caller, seq::pg_catalog.oid, 'SELECT, USAGE') THEN
        RAISE EXCEPTION 'permission denied for sequence %',
              (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) seq::pg_catalog.oid)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE pg_catalog.format('SELECT last_value, is_called FROM %s', seq) INTO v_last, v_called;
    IF NOT v_called THEN
        RETURN v_last;
    ELSIF v_inc OPERATOR(pg_catalog.>) 0 THEN
        RETURN CASE WHEN v_last OPERATOR(pg_catalog.=) v_max THEN v_min ELSE v_last OPERATOR(pg_catalog.+) 1 END;
    END IF;
    RETURN CASE WHEN v_last OPERATOR(pg_catalog.=) v_min THEN v_max ELSE v_last OPERATOR(pg_catalog.-) 1 END;
END
$$;

CREATE FUNCTION storagebox_data.dispenser_next_value(seq regclass)
RETURNS bigint
LANGUAGE sql VOLATILE STRICT
BEGIN ATOMIC
    SELECT storagebox_data.peek(seq, CURRENT_USER);
END;

-- The right to take numbers from one dispenser is SELECT on its sequence
-- (nextval refuses SELECT, so the right cannot bypass the dispenser lock).
CREATE FUNCTION @extschema@.sb_grant_dispenser(dispenser text, role regrole)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d storagebox_data.dispenser;
BEGIN
    d := storagebox_data.dispenser_by_name(dispenser);
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    EXECUTE pg_catalog.format('GRANT SELECT ON SEQUENCE %s TO %s', d.seq, role);
END
$$;

CREATE FUNCTION @extschema@.sb_revoke_dispenser(dispenser text, role regrole)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    d storagebox_data.dispenser;
BEGIN
    d := storagebox_data.dispenser_by_name(dispenser);
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    EXECUTE pg_catalog.format('REVOKE SELECT, USAGE, UPDATE ON SEQUENCE %s FROM %s', d.seq, role);
END
$$;
