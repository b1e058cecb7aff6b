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
