-- Issue 19: scenes (一图N景) and the index the case statistics read.

-- A scene: a named bundle of layers, filters, basemap and view for one department or business
-- (环卫, 城管执法, 市政, 绿化, 垃圾分类 …). `spec` is what the web map restores:
-- {"layers": [...], "filters": {...}, "basemap": "light", "view": {"center": [lon, lat], "zoom": z},
--  "figures": [...]}. Planners write, everyone reads; the slug is the shareable name in the URL.
CREATE TABLE IF NOT EXISTS scenes (
    id          bigserial PRIMARY KEY,
    slug        text NOT NULL UNIQUE,
    name        text NOT NULL,
    department  text,
    spec        jsonb NOT NULL DEFAULT '{}',
    created_by  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT scenes_slug_format CHECK (slug ~ '^[a-z0-9][a-z0-9_-]{0,62}$')
);

-- Case statistics group by source, category, status and grid over a reported_at range: with every
-- grouped column in the index, a range is an index-only scan instead of a heap scan of a million rows.
CREATE INDEX IF NOT EXISTS cases_stats_idx ON cases (reported_at)
    INCLUDE (source, major, minor, status, unit_grid_code, kind);

-- Case statistics rollup: per dimension, per local day, per value, the number of cases. A year of a
-- district by source or by month is then a few thousand rows of this table instead of a scan of a
-- third of a million cases (layers/stats.py reads it when the range is whole local days and there is
-- one grouping and no filter; everything else scans `cases`). Dimensions: all (val ''), source, kind,
-- major, minor (val = 大类 || 小类), status, street, community, unit_grid (prefixes of unit_grid_code), and
-- unit_grid_month (day = the first of the local month: a year by grid is 12 rows per grid, not 365);
-- a NULL value is stored as ''. Days are local days of the zone in case_stats_zone (the district's
-- settings.timezone; the engine uses the rollup only when they agree). Kept set-based by statement-level
-- triggers with transition tables, like heat_rollup (0007): inserts add, deletes subtract, updates add
-- the difference (unchanged rows cancel out).
CREATE TABLE IF NOT EXISTS case_stats_zone (
    id  boolean PRIMARY KEY DEFAULT true,
    tz  text NOT NULL,
    CONSTRAINT case_stats_zone_one CHECK (id)
);
INSERT INTO case_stats_zone (id, tz) VALUES (true, 'Asia/Shanghai') ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS case_stats_rollup (
    dim  text NOT NULL,
    day  date NOT NULL,
    val  text NOT NULL,
    n    bigint NOT NULL,
    CONSTRAINT case_stats_rollup_pkey PRIMARY KEY (dim, day, val)
);

CREATE OR REPLACE FUNCTION case_stats_rows(src text, tz text) RETURNS text LANGUAGE sql IMMUTABLE AS $f$
    SELECT format($q$
        SELECT d.dim, d.day, coalesce(d.val, '') AS val, sum(x.s) AS n
        FROM (%s) x
        CROSS JOIN LATERAL (SELECT (x.reported_at AT TIME ZONE %L)::date AS dd) l
        CROSS JOIN LATERAL (VALUES
            ('all', '', l.dd), ('source', x.source, l.dd), ('kind', x.kind, l.dd), ('major', x.major::text, l.dd),
            ('minor', x.major::text || x.minor::text, l.dd), ('status', x.status, l.dd),
            ('unit_grid', x.unit_grid_code::text, l.dd), ('street', left(x.unit_grid_code, 9), l.dd),
            ('community', left(x.unit_grid_code, 12), l.dd),
            ('unit_grid_month', x.unit_grid_code::text, date_trunc('month', l.dd)::date)) d(dim, val, day)
        GROUP BY 1, 2, 3 HAVING sum(x.s) <> 0
    $q$, src, tz)
$f$;

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
    EXECUTE 'INSERT INTO case_stats_rollup AS r (dim, day, val, n) SELECT * FROM ('
        || case_stats_rows(src, (SELECT tz FROM case_stats_zone)) || ') t ORDER BY 1, 2, 3 '
        || 'ON CONFLICT (dim, day, val) DO UPDATE SET n = r.n + excluded.n';
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION case_stats_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM case_stats_rollup;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS case_stats_ins ON cases;
DROP TRIGGER IF EXISTS case_stats_upd ON cases;
DROP TRIGGER IF EXISTS case_stats_del ON cases;
DROP TRIGGER IF EXISTS case_stats_trunc ON cases;
CREATE TRIGGER case_stats_ins AFTER INSERT ON cases REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION case_stats_apply();
CREATE TRIGGER case_stats_upd AFTER UPDATE ON cases REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION case_stats_apply();
CREATE TRIGGER case_stats_del AFTER DELETE ON cases REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION case_stats_apply();
CREATE TRIGGER case_stats_trunc AFTER TRUNCATE ON cases FOR EACH STATEMENT EXECUTE FUNCTION case_stats_truncate();

-- The cases already there.
DELETE FROM case_stats_rollup;
DO $$
BEGIN
    EXECUTE 'INSERT INTO case_stats_rollup (dim, day, val, n) SELECT * FROM ('
        || case_stats_rows('SELECT reported_at, source, kind, major, minor, status, unit_grid_code, 1 AS s FROM cases',
                           (SELECT tz FROM case_stats_zone)) || ') t';
END $$;
