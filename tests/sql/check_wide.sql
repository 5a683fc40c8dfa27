-- check_wide.sql - the tests' oracle for dual-write: every narrow reading with a value must
-- be exactly one wide cell (through ferry.channel_columns), and every wide cell must come
-- from exactly one narrow reading. Creates pg_temp.check_wide(narrow, wide_schema, ship
-- pattern) returning (channels, narrow_values, missing, extra, mismatched).
-- Use: psql -v ON_ERROR_STOP=1 -f check_wide.sql -c "select * from pg_temp.check_wide(...)"
CREATE OR REPLACE FUNCTION pg_temp.check_wide(narrow regclass, wide_schema text,
                                              ship_like text DEFAULT '%')
RETURNS TABLE (channels bigint, narrow_values bigint, missing bigint, extra bigint,
               mismatched bigint)
LANGUAGE plpgsql AS $$
DECLARE
    c record;
    expr text;
    m bigint; e bigint; x bigint; nv bigint;
BEGIN
    channels := 0; narrow_values := 0; missing := 0; extra := 0; mismatched := 0;
    FOR c IN SELECT * FROM ferry.channel_columns WHERE ship_id LIKE ship_like
             AND table_name IN (SELECT table_name FROM ferry.ship_tables
                                WHERE table_schema = wide_schema) LOOP
        expr := CASE c.pg_type
            WHEN 'double precision' THEN 'coalesce(n.value_double, n.value_long::double precision)'
            WHEN 'bigint' THEN 'coalesce(n.value_long, n.value_double::bigint)'
            WHEN 'boolean' THEN 'n.value_bool'
            ELSE 'n.value_text' END;
        EXECUTE format(
            'WITH nv AS (SELECT n.ts, %s AS v FROM %s n WHERE n.ship_id = $1 AND n.channel_id = $2'
            '            AND coalesce(n.value_double::text, n.value_long::text, n.value_bool::text,'
            '                         n.value_text) IS NOT NULL),'
            '     wv AS (SELECT w.ts, w.%I AS v FROM %I.%I w WHERE w.%I IS NOT NULL)'
            ' SELECT (SELECT count(*) FROM nv),'
            '        (SELECT count(*) FROM nv WHERE NOT EXISTS (SELECT 1 FROM wv WHERE wv.ts = nv.ts)),'
            '        (SELECT count(*) FROM wv WHERE NOT EXISTS (SELECT 1 FROM nv WHERE nv.ts = wv.ts)),'
            '        (SELECT count(*) FROM nv JOIN wv USING (ts) WHERE nv.v IS DISTINCT FROM wv.v)',
            expr, narrow, c.column_name, wide_schema, c.table_name, c.column_name)
        INTO nv, m, e, x USING c.ship_id, c.channel_id;
        channels := channels + 1; narrow_values := narrow_values + nv;
        missing := missing + m; extra := extra + e; mismatched := mismatched + x;
    END LOOP;
    -- narrow readings with a value whose channel has no column at all
    EXECUTE format(
        'SELECT count(*) FROM %s n WHERE n.ship_id LIKE $1 AND coalesce(n.value_double::text,'
        ' n.value_long::text, n.value_bool::text, n.value_text) IS NOT NULL AND NOT EXISTS'
        ' (SELECT 1 FROM ferry.channel_columns c JOIN ferry.ship_tables t'
        '  ON t.table_name = c.table_name AND t.table_schema = $2'
        '  WHERE c.ship_id = n.ship_id AND c.channel_id = n.channel_id)', narrow)
        INTO m USING ship_like, wide_schema;
    missing := missing + m;
    RETURN NEXT;
END $$;
