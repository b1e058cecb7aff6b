-- Concurrent writers no longer queue on one row (issue 14: Part 4 POSTs through HTTP).
-- The change counter of a table, the case statistics of a day and the heat of a cell were each one row
-- that every writing transaction updated and then held locked until its commit was on disk: N
-- concurrent single-feature writes of one table committed one after the other. Each of those rows is now
-- one of 16 stripes (`slot`), picked by the writing backend (pg_backend_pid() % 16), so writers on
-- different pooled connections lock different rows and their commits share a WAL flush. Every reader
-- already sums over the key (a version is sum(version): it grows with every commit, so a cache keyed on it
-- still sees every change, in whichever order the stripes commit).

ALTER TABLE ogc_changes ADD COLUMN IF NOT EXISTS slot smallint NOT NULL DEFAULT 0;
ALTER TABLE ogc_changes DROP CONSTRAINT ogc_changes_pkey, ADD PRIMARY KEY (table_name, slot);

CREATE OR REPLACE FUNCTION ogc_changes_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ogc_changes AS c (table_name, slot, version, changed_at)
    VALUES (TG_TABLE_NAME, pg_backend_pid() % 16, 1, now())
    ON CONFLICT (table_name, slot) DO UPDATE SET version = c.version + 1, changed_at = now();
    RETURN NULL;
END $$;

ALTER TABLE case_stats_rollup ADD COLUMN IF NOT EXISTS slot smallint NOT NULL DEFAULT 0;
ALTER TABLE case_stats_rollup DROP CONSTRAINT case_stats_rollup_pkey, ADD PRIMARY KEY (dim, day, val, slot);

CREATE OR REPLACE FUNCTION case_stats_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pick text := 'SELECT reported_at, source, kind, major, minor, status, unit_grid_code, %s AS s FROM %I';
    src  text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        src := format(pick, '1', 'new_rows');
    ELSIF TG_OP = 'DELETE' THEN
        src := format(pick, '-1', 'old_rows');
    ELSE
        src := format(pick, '1', 'new_rows') || ' UNION ALL ' || format(pick, '-1', 'old_rows');
    END IF;
    EXECUTE 'INSERT INTO case_stats_rollup AS r (dim, day, val, n, slot) SELECT t.*, pg_backend_pid() % 16 FROM ('
        || case_stats_rows(src, (SELECT tz FROM case_stats_zone)) || ') t ORDER BY 1, 2, 3 '
        || 'ON CONFLICT (dim, day, val, slot) DO UPDATE SET n = r.n + excluded.n';
    RETURN NULL;
END $$;

ALTER TABLE heat_rollup ADD COLUMN IF NOT EXISTS slot smallint NOT NULL DEFAULT 0;
ALTER TABLE heat_rollup DROP CONSTRAINT heat_rollup_pkey, ADD PRIMARY KEY (tbl, cell, part, period, slot);

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
    $q$, TG_TABLE_NAME, src);
    RETURN NULL;
END $$;
