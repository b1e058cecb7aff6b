-- What one INSERT INTO cases costs the database, trimmed (issue 14: ≥ 1,000 Part 4 POSTs/s).
--
-- 1. The case statistics' trigger statement read the zone as `(SELECT tz FROM case_stats_zone)` inside
--    the per-row day expression, which the VALUES list of ten dimensions repeats: ten InitPlans (ten
--    scans of the one-row table, each initialised on every execution) per write statement. The zone is
--    now joined once to the changed rows (LEFT JOIN: a missing zone still gives a NULL day, as before),
--    and the day expression refers to that column. Same rows, same text builder (case_stats_rows).
-- 2. Five btree indexes of cases lead by one of two columns: three by reported_at (a plain one, the
--    heat's time-first covering index, the statistics' covering index) and two by h3_cell (the heat's
--    covering index, the area scope's). Each is one more index insert per row; one index per leading
--    column covering the union of the INCLUDE lists serves every index-only scan the five did.
--    cases_h3_scope_idx keeps its name (gis/db/catalog_sync.py creates it when missing, by name).

CREATE OR REPLACE FUNCTION case_stats_stmt(op text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    pick text := 'SELECT reported_at, source, kind, major, minor, status, unit_grid_code, %s AS s FROM %I';
    src  text;
BEGIN
    IF op = 'INSERT' THEN
        src := format(pick, '1', 'new_rows');
    ELSIF op = 'DELETE' THEN
        src := format(pick, '-1', 'old_rows');
    ELSE
        src := format(pick, '1', 'new_rows') || ' UNION ALL ' || format(pick, '-1', 'old_rows');
    END IF;
    src := 'SELECT y.*, z.tz AS _zone FROM (' || src || ') y LEFT JOIN case_stats_zone z ON true';
    RETURN 'INSERT INTO case_stats_rollup AS r (dim, day, val, n, slot) SELECT t.*, pg_backend_pid() % 16 FROM ('
        || replace(case_stats_rows(src, '@zone@'), '''@zone@''', 'x._zone')
        || ') t ORDER BY 1, 2, 3 ON CONFLICT (dim, day, val, slot) DO UPDATE SET n = r.n + excluded.n';
END $$;

SELECT static_rollup_function('case_stats_apply', case_stats_stmt('INSERT'), case_stats_stmt('DELETE'),
                              case_stats_stmt('UPDATE'));

DROP INDEX IF EXISTS cases_reported_idx;
DROP INDEX IF EXISTS cases_time_h3_idx;
DROP INDEX IF EXISTS cases_stats_idx;
CREATE INDEX IF NOT EXISTS cases_time_idx ON cases (reported_at)
    INCLUDE (h3_cell, weight, major, minor, source, status, unit_grid_code, kind);

DROP INDEX IF EXISTS cases_h3_idx;
DROP INDEX IF EXISTS cases_h3_scope_idx;
CREATE INDEX IF NOT EXISTS cases_h3_scope_idx ON cases (h3_cell)
    INCLUDE (reported_at, weight, major, minor, source, unit_grid_code, id);
