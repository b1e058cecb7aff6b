-- Heat rollup (issue 5): per point table, per part, per UTC month, per resolution-8 H3 cell, the number of
-- points and the sum of their weight. A district viewport over years at resolution ≤ 8 is then one small
-- indexed aggregate of this table instead of a scan of every point (layers.rollup reads it; time windows
-- that do not start or end on a UTC month boundary take their partial months from the points themselves).
--   cases:         part = source (hotline, supervisor, …; '' when NULL), weight = weight, time = reported_at
--   waste_records: part = waste_kind,                                    weight = tonnes, time = ts
-- Maintained set-based by statement-level triggers with transition tables: inserts add, deletes subtract,
-- updates add the difference (rows whose cell, part, month and weight did not change cancel out). Points
-- with no cell yet (h3_cell NULL, filled later by layers.cells) are not counted until their cell is set —
-- setting it is an UPDATE, which adds them. TRUNCATE empties the table's share. Rows may be left with
-- n = 0 after deletes; readers skip them. The resolution-8 parent below is gis.h3cells.parent_sql(…, 8).
-- The cache of the layers keys on ogc_changes, so waste_records gets its change counter here too.

CREATE TABLE IF NOT EXISTS heat_rollup (
    tbl     text NOT NULL,
    part    text NOT NULL,
    period  timestamptz NOT NULL,
    cell    bigint NOT NULL,
    n       bigint NOT NULL,
    w       double precision NOT NULL,
    CONSTRAINT heat_rollup_pkey PRIMARY KEY (tbl, cell, part, period)
);

CREATE OR REPLACE FUNCTION heat_rollup_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    part_col text := TG_ARGV[0];
    time_col text := TG_ARGV[1];
    w_col    text := TG_ARGV[2];
    pick     text := 'SELECT h3_cell, coalesce(%I::text, '''') AS p, %I AS t, %s AS s, %I AS w FROM %I';
    src      text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        src := format(pick, part_col, time_col, '1', w_col, 'new_rows');
    ELSIF TG_OP = 'DELETE' THEN
        src := format(pick, part_col, time_col, '-1', w_col, 'old_rows');
    ELSE
        src := format(pick, part_col, time_col, '1', w_col, 'new_rows') || ' UNION ALL '
            || format(pick, part_col, time_col, '-1', w_col, 'old_rows');
    END IF;
    EXECUTE format($q$
        INSERT INTO heat_rollup AS r (tbl, part, period, cell, n, w)
        SELECT %L, p, date_trunc('month', t, 'UTC'),
               (((h3_cell & ~(67553994410557440::bigint)) | (36028797018963968::bigint)) | (2097151::bigint)),
               sum(s), sum(s * w)
        FROM (%s) d
        WHERE h3_cell IS NOT NULL
        GROUP BY 2, 3, 4
        HAVING sum(s) <> 0 OR sum(s * w) <> 0
        ORDER BY 4, 2, 3
        ON CONFLICT (tbl, cell, part, period) DO UPDATE SET n = r.n + excluded.n, w = r.w + excluded.w
    $q$, TG_TABLE_NAME, src);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION heat_rollup_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM heat_rollup WHERE tbl = TG_TABLE_NAME;
    RETURN NULL;
END $$;

DO $$
DECLARE
    spec text[];
BEGIN
    FOREACH spec SLICE 1 IN ARRAY ARRAY[['cases', 'source', 'reported_at', 'weight'],
                                        ['waste_records', 'waste_kind', 'ts', 'tonnes']]
    LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS heat_rollup_ins ON %I', spec[1]);
        EXECUTE format('DROP TRIGGER IF EXISTS heat_rollup_upd ON %I', spec[1]);
        EXECUTE format('DROP TRIGGER IF EXISTS heat_rollup_del ON %I', spec[1]);
        EXECUTE format('DROP TRIGGER IF EXISTS heat_rollup_trunc ON %I', spec[1]);
        EXECUTE format('CREATE TRIGGER heat_rollup_ins AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION heat_rollup_apply(%L, %L, %L)',
                       spec[1], spec[2], spec[3], spec[4]);
        EXECUTE format('CREATE TRIGGER heat_rollup_upd AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows '
                       'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION heat_rollup_apply(%L, %L, %L)',
                       spec[1], spec[2], spec[3], spec[4]);
        EXECUTE format('CREATE TRIGGER heat_rollup_del AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION heat_rollup_apply(%L, %L, %L)',
                       spec[1], spec[2], spec[3], spec[4]);
        EXECUTE format('CREATE TRIGGER heat_rollup_trunc AFTER TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION heat_rollup_truncate()', spec[1]);
        -- Points already there (a database loaded before this migration).
        DELETE FROM heat_rollup WHERE tbl = spec[1];
        EXECUTE format($q$
            INSERT INTO heat_rollup (tbl, part, period, cell, n, w)
            SELECT %L, coalesce(%I::text, ''), date_trunc('month', %I, 'UTC'),
                   (((h3_cell & ~(67553994410557440::bigint)) | (36028797018963968::bigint)) | (2097151::bigint)),
                   count(*), sum(%I)
            FROM %I WHERE h3_cell IS NOT NULL GROUP BY 2, 3, 4
        $q$, spec[1], spec[2], spec[3], spec[4], spec[1]);
    END LOOP;
END $$;

INSERT INTO ogc_changes (table_name) VALUES ('waste_records') ON CONFLICT DO NOTHING;
DROP TRIGGER IF EXISTS ogc_changes_bump ON waste_records;
CREATE TRIGGER ogc_changes_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON waste_records
    FOR EACH STATEMENT EXECUTE FUNCTION ogc_changes_bump();
