-- OGC API (issue 8): a change counter per published table, so the server's caches of exact counts,
-- extents and vector tiles can tell with one cheap read whether they are stale. Statement-level
-- triggers bump it inside the writing transaction: a reader sees the new version exactly when it
-- can see the new rows (a sequence would be visible before commit and let a stale entry be cached).
-- `positions` has no trigger on purpose: GPS ingest must not serialise on one counter row; the
-- vehicles collection (last known position) is therefore never cached.
-- Idempotent: a database migrated past 0004 before this file had content can run it as it is.

CREATE TABLE IF NOT EXISTS ogc_changes (
    table_name  text PRIMARY KEY,
    version     bigint NOT NULL DEFAULT 0,
    changed_at  timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE FUNCTION ogc_changes_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ogc_changes AS c (table_name, version, changed_at) VALUES (TG_TABLE_NAME, 1, now())
    ON CONFLICT (table_name) DO UPDATE SET version = c.version + 1, changed_at = now();
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['admin_areas', 'unit_grids', 'eval_grids', 'work_grids', 'streets', 'doorplates',
                             'zones', 'pois', 'categories', 'components', 'waste_facilities', 'vehicles',
                             'routes', 'fences', 'cases', 'alarms']
    LOOP
        INSERT INTO ogc_changes (table_name) VALUES (t) ON CONFLICT DO NOTHING;
        EXECUTE format('DROP TRIGGER IF EXISTS ogc_changes_bump ON %I', t);
        EXECUTE format('CREATE TRIGGER ogc_changes_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION ogc_changes_bump()', t);
    END LOOP;
END $$;
