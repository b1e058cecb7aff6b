-- Undo 0017: alarms back to one table, positions' children back to our naming, pg_partman removed.
SET LOCAL timezone = 'UTC';

CREATE TABLE alarms_0017 (LIKE alarms INCLUDING DEFAULTS);
INSERT INTO alarms_0017 SELECT * FROM alarms;
ALTER SEQUENCE alarms_id_seq OWNED BY alarms_0017.id;
DELETE FROM partman.part_config WHERE parent_table IN ('public.positions', 'public.alarms');
DROP TABLE alarms;
ALTER TABLE alarms_0017 RENAME TO alarms;
ALTER TABLE alarms ADD CONSTRAINT alarms_pkey PRIMARY KEY (id),
    ADD CONSTRAINT alarms_vehicle_id_fkey FOREIGN KEY (vehicle_id) REFERENCES vehicles(id) ON DELETE CASCADE,
    ADD CONSTRAINT alarms_fence_id_fkey FOREIGN KEY (fence_id) REFERENCES fences(id) ON DELETE SET NULL,
    ADD CONSTRAINT alarms_kind_fk FOREIGN KEY (kind) REFERENCES alarm_kinds(kind);
CREATE UNIQUE INDEX alarms_identity_idx ON alarms (vehicle_id, kind, coalesce(fence_id, 0), start);
CREATE INDEX alarms_kind_idx ON alarms (kind, start);
CREATE INDEX alarms_open_idx ON alarms (vehicle_id) WHERE "end" IS NULL;
CREATE INDEX alarms_start_idx ON alarms (start);
CREATE INDEX alarms_vehicle_idx ON alarms (vehicle_id, start);
CREATE TRIGGER ogc_changes_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON alarms
    FOR EACH STATEMENT EXECUTE FUNCTION ogc_changes_bump();

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'public.positions'::regclass AND c.relname ~ '^positions_p[0-9]{4}_[0-9]{2}$' LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', r.relname,
                       'positions_' || substr(r.relname, 12, 4) || substr(r.relname, 17, 2));
    END LOOP;
END $$;

CREATE OR REPLACE FUNCTION positions_ensure_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    hi timestamptz := lo + interval '1 month';
    part text := 'positions_' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMM');
BEGIN
    IF to_regclass(part) IS NOT NULL THEN
        RETURN part;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext(part));
    IF to_regclass(part) IS NOT NULL THEN
        RETURN part;
    END IF;
    EXECUTE format('CREATE TEMP TABLE _moved ON COMMIT DROP AS SELECT * FROM positions_default '
                   'WHERE ts >= %L AND ts < %L', lo, hi);
    EXECUTE format('DELETE FROM positions_default WHERE ts >= %L AND ts < %L', lo, hi);
    EXECUTE format('CREATE TABLE %I PARTITION OF positions FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
    EXECUTE 'INSERT INTO positions SELECT * FROM _moved';
    DROP TABLE _moved;
    RETURN part;
END $$;

DROP EXTENSION IF EXISTS pg_partman;
DROP SCHEMA IF EXISTS partman CASCADE;  -- the template tables partman made (not members of the extension)
