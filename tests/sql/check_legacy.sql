-- check_legacy.sql - the tests' oracle for a legacy narrow table that ferry did not create:
-- every narrow value must be exactly one wide cell (through ferry.channel_columns) and every
-- wide cell must come from exactly one narrow value. The caller describes the legacy table with
-- its own SQL over alias n (it knows the table it made): the ship, the channel, the time as
-- timestamptz, and the value as text whose cast to the wide column's type is the cell expected.
-- Creates pg_temp.check_legacy(narrow, ship_x, chan_x, ts_x, val_x, wide_schema) returning
-- (channels, narrow_values, missing, extra, mismatched).
-- Use: psql -v ON_ERROR_STOP=1 -f check_legacy.sql -c "select * from pg_temp.check_legacy(...)"
CREATE OR REPLACE FUNCTION pg_temp.check_legacy(narrow regclass, ship_x text, chan_x text,
                                                ts_x text, val_x text, wide_schema text)
RETURNS TABLE (channels bigint, narrow_values bigint, missing bigint, extra bigint,
               mismatched bigint)
LANGUAGE plpgsql AS $$
DECLARE
    c record;
    m bigint; e bigint; x bigint; nv bigint;
BEGIN
    channels := 0; narrow_values := 0; missing := 0; extra := 0; mismatched := 0;
    FOR c IN SELECT cc.* FROM ferry.channel_columns cc JOIN ferry.ship_tables t
             ON t.table_name = cc.table_name AND t.ship_id = cc.ship_id
             WHERE t.table_schema = wide_schema LOOP
        EXECUTE format(
            'WITH nv AS (SELECT %s AS ts, (%s)::%s AS v FROM %s n WHERE %s = $1 AND %s = $2'
            '            AND (%s) IS NOT NULL),'
            '     wv AS (SELECT w.ts, w.%I AS v FROM %I.%I w WHERE w.%I IS NOT NULL)'
            ' SELECT (SELECT count(*) FROM nv),'
            '        (SELECT count(*) FROM nv WHERE NOT EXISTS (SELECT 1 FROM wv WHERE wv.ts = nv.ts)),'
            '        (SELECT count(*) FROM wv WHERE NOT EXISTS (SELECT 1 FROM nv WHERE nv.ts = wv.ts)),'
            '        (SELECT count(*) FROM nv JOIN wv USING (ts) WHERE nv.v IS DISTINCT FROM wv.v)',
            ts_x, val_x, c.pg_type, narrow, ship_x, chan_x, val_x,
            c.column_name, wide_schema, c.table_name, c.column_name)
        INTO nv, m, e, x USING c.ship_id, c.channel_id;
        channels := channels + 1; narrow_values := narrow_values + nv;
        missing := missing + m; extra := extra + e; mismatched := mismatched + x;
    END LOOP;
    -- narrow values whose channel has no column at all
    EXECUTE format(
        'SELECT count(*) FROM %s n WHERE (%s) IS NOT NULL AND NOT EXISTS'
        ' (SELECT 1 FROM ferry.channel_columns c JOIN ferry.ship_tables t'
        '  ON t.table_name = c.table_name AND t.table_schema = $1'
        '  WHERE c.ship_id = %s AND c.channel_id = %s)', narrow, val_x, ship_x, chan_x)
        INTO m USING wide_schema;
    missing := missing + m;
    RETURN NEXT;
END $$;
