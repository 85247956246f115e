
/*
 * 1.4: what operators need besides fetching -- per-bank rights and the
 * sb_banks view with holds.  Both flavours take this piece as it is (the C
 * flavour in its 1.3--1.4 upgrade script, the SQL flavour in its install
 * script), so the two cannot drift apart.
 *
 * Per-bank rights live in the ACL of the bank's cursor sequence, the way
 * the dispensers keep theirs on their sequence:
 *   fetch  USAGE   sb_fetch_item, sb_hold_item, sb_confirm, sb_release,
 *                  sb_fetch_items, sb_lookup
 *   read   SELECT  sb_holders, sb_lookup
 * A bank whose cursor has no ACL (relacl NULL: nothing was ever granted
 * on it) is unrestricted: EXECUTE on a function is all a caller needs, as
 * before 1.4.  Once it has one, it stays restricted after the last revoke;
 * a grant to PUBLIC on the cursor opens it again.  A row reached through
 * another bank of the scope needs the right on its own bank too.
 * sb_holders always needs read.  The owner of the extension's tables (who
 * owns every cursor) and superusers always pass.  Keeping the rights in
 * the ACL means pg_dump keeps them, DROP ROLE refuses to drop a role that
 * still has one, DROP OWNED BY takes them away, and \dp storagebox_data.*
 * shows them.
 */

-- The GRANT (p_grant) or REVOKE statement that gives or takes a bank
-- right: the cursor sequence's privilege that the right stands for.
CREATE FUNCTION storagebox_data.bank_right_statement(p_bank text, p_role regrole,
                                                     p_right text, p_grant boolean)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b storagebox_data.bank;
    v_privilege text;
BEGIN
    b := storagebox_data.bank_by_name(p_bank, false);
    IF p_role IS NULL THEN
        RAISE EXCEPTION 'role must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF p_right IS NULL THEN
        RAISE EXCEPTION 'privilege must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    CASE p_right
        WHEN 'fetch' THEN v_privilege := 'USAGE';
        WHEN 'read' THEN v_privilege := 'SELECT';
        ELSE
            RAISE EXCEPTION 'unrecognized bank privilege "%"', p_right
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Use fetch or read.';
    END CASE;
    RETURN pg_catalog.format(CASE WHEN p_grant THEN 'GRANT %s ON SEQUENCE %s TO %s'
                                  ELSE 'REVOKE %s ON SEQUENCE %s FROM %s' END,
                             v_privilege, b.cursor_seq, p_role);
END
$$;

CREATE FUNCTION @extschema@.sb_grant(bank text, role regrole, privilege text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE storagebox_data.bank_right_statement(bank, role, privilege, true);
END
$$;

CREATE FUNCTION @extschema@.sb_revoke(bank text, role regrole, privilege text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE storagebox_data.bank_right_statement(bank, role, privilege, false);
END
$$;

-- sb_banks gains items_held (live holds) at its end, so that CREATE OR
-- REPLACE keeps the view's grants.  A hold past its expiry is not handed
-- out: its item counts in items_left.
CREATE OR REPLACE VIEW @extschema@.sb_banks AS
SELECT b.bank_name AS bank,
       s.scope_name AS dedup_scope,
       b.items_total,
       h.handed_out AS items_handed_out,
       b.items_total OPERATOR(pg_catalog.-) h.handed_out AS items_left,
       b.created_at,
       h.held AS items_held
  FROM storagebox_data.bank b
  JOIN storagebox_data.scope s
    ON s.scope_id OPERATOR(pg_catalog.=) b.scope_id
  CROSS JOIN LATERAL (
       SELECT pg_catalog.max(g.settled_upto) AS settled_upto
         FROM storagebox_data.bank_progress g
        WHERE g.bank_id OPERATOR(pg_catalog.=) b.bank_id) p
 CROSS JOIN LATERAL (
       SELECT pg_catalog.count(*) FILTER (
                  WHERE c.hold_expires OPERATOR(pg_catalog.>) t.now) AS held,
              pg_catalog.count(*) FILTER (
                  WHERE c.hold_expires OPERATOR(pg_catalog.<=) t.now) AS expired
         FROM (SELECT pg_catalog.clock_timestamp() AS now) t
         LEFT JOIN storagebox_data.claim c
           ON c.bank_id OPERATOR(pg_catalog.=) b.bank_id
          AND c.hold_expires IS NOT NULL) k
 CROSS JOIN LATERAL (
       SELECT p.settled_upto
              OPERATOR(pg_catalog.+)
              (SELECT pg_catalog.count(*) FROM storagebox_data.claim c
                WHERE c.bank_id OPERATOR(pg_catalog.=) b.bank_id
                  AND c.slot OPERATOR(pg_catalog.>) p.settled_upto)
              OPERATOR(pg_catalog.-)
              (SELECT pg_catalog.count(*) FROM storagebox_data.claim c
                WHERE c.bank_id OPERATOR(pg_catalog.=) b.bank_id
                  AND c.dedup_id IS NULL)
              OPERATOR(pg_catalog.-) k.expired AS handed_out,
              k.held
        OFFSET 0) h;            -- computed once, not once per output column

REVOKE ALL ON FUNCTION storagebox_data.bank_right_statement(text, regrole, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_grant(text, regrole, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.sb_revoke(text, regrole, text) FROM PUBLIC;
