-- The rollup triggers of cases without dynamic SQL (issue 14: Part 4 POSTs through HTTP).
-- case_stats_apply and heat_rollup_apply built their INSERT … ON CONFLICT as text and EXECUTEd it, so
-- every write statement parsed and planned it again: ~0.4 ms and ~0.2 ms of the database's CPU for a
-- one-row INSERT, about half of the whole statement. PL/pgSQL keeps the plan of a static statement for
-- the session, so the statements are now generated once, here, from the same text builders
-- (case_stats_rows of 0009; heat_rollup_stmt below, which the generic trigger uses too), into trigger
-- functions whose statements are static. The results are the same rows (tests compare rollup and scan).

-- The heat rollup's statement for a table, its columns, and the rows `src` (one text builder for the
-- generic trigger and the generated ones).
CREATE OR REPLACE FUNCTION heat_rollup_stmt(tbl text, part_col text, time_col text, w_col text, op text)
RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    pick text := 'SELECT h3_cell, coalesce(%I::text, '''') AS p, %I AS t, %s AS s, %I AS w FROM %I';
    src  text;
BEGIN
    IF op = 'INSERT' THEN
        src := format(pick, part_col, time_col, '1', w_col, 'new_rows');
    ELSIF op = 'DELETE' THEN
        src := format(pick, part_col, time_col, '-1', w_col, 'old_rows');
    ELSE
        src := format(pick, part_col, time_col, '1', w_col, 'new_rows') || ' UNION ALL '
            || format(pick, part_col, time_col, '-1', w_col, 'old_rows');
    END IF;
    RETURN format($q$
        INSERT INTO heat_rollup AS r (tbl, part, period, cell, n, w, slot)
        SELECT %L, p, date_trunc('month', t, 'UTC'),
               (((h3_cell & ~(67553994410557440::bigint)) | (36028797018963968::bigint)) | (2097151::bigint)),
               sum(s), sum(s * w), pg_backend_pid() %% 16
        FROM (%s) d
        WHERE h3_cell IS NOT NULL
        GROUP BY 2, 3, 4
        HAVING sum(s) <> 0 OR sum(s * w) <> 0
        ORDER BY 4, 2, 3
        ON CONFLICT (tbl, cell, part, period, slot) DO UPDATE SET n = r.n + excluded.n, w = r.w + excluded.w
    $q$, tbl, src);
END $$;

CREATE OR REPLACE FUNCTION heat_rollup_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE heat_rollup_stmt(TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[1], TG_ARGV[2], TG_OP);
    RETURN NULL;
END $$;

-- The case statistics' statement for one trigger operation; the zone is read when it runs, as before.
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
    RETURN 'INSERT INTO case_stats_rollup AS r (dim, day, val, n, slot) SELECT t.*, pg_backend_pid() % 16 FROM ('
        || replace(case_stats_rows(src, '@zone@'), '''@zone@''', '(SELECT tz FROM case_stats_zone)')
        || ') t ORDER BY 1, 2, 3 ON CONFLICT (dim, day, val, slot) DO UPDATE SET n = r.n + excluded.n';
END $$;

-- A trigger function running `stmts` (INSERT, DELETE, UPDATE: one statement each) as static SQL.
CREATE OR REPLACE FUNCTION static_rollup_function(name text, ins text, del text, upd text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($f$
        CREATE OR REPLACE FUNCTION %I() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                %s;
            ELSIF TG_OP = 'DELETE' THEN
                %s;
            ELSE
                %s;
            END IF;
            RETURN NULL;
        END $body$
    $f$, name, ins, del, upd);
END $$;

SELECT static_rollup_function('case_stats_apply', case_stats_stmt('INSERT'), case_stats_stmt('DELETE'),
                              case_stats_stmt('UPDATE'));
SELECT static_rollup_function('cases_heat_apply',
                              heat_rollup_stmt('cases', 'source', 'reported_at', 'weight', 'INSERT'),
                              heat_rollup_stmt('cases', 'source', 'reported_at', 'weight', 'DELETE'),
                              heat_rollup_stmt('cases', 'source', 'reported_at', 'weight', 'UPDATE'));

DROP TRIGGER IF EXISTS heat_rollup_ins ON cases;
DROP TRIGGER IF EXISTS heat_rollup_upd ON cases;
DROP TRIGGER IF EXISTS heat_rollup_del ON cases;
CREATE TRIGGER heat_rollup_ins AFTER INSERT ON cases REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_heat_apply();
CREATE TRIGGER heat_rollup_upd AFTER UPDATE ON cases REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_heat_apply();
CREATE TRIGGER heat_rollup_del AFTER DELETE ON cases REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cases_heat_apply();
