-- Time partitions kept by pg_partman (issue 18): positions (by ts) and alarms (by start), monthly.
-- pg_partman cuts months in the session's time zone; ours are UTC months, so every partman call runs in UTC.
SET LOCAL timezone = 'UTC';
CREATE SCHEMA IF NOT EXISTS partman;
CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman;

-- positions: the existing monthly children keep their rows and are renamed to partman's naming
-- (positions_YYYYMM -> positions_pYYYY_MM: a catalog update, no row moves). Partman makes its own
-- default partition, so ours is detached first and its rows (normally none) re-inserted afterwards.
DO $$
DECLARE
    r record;
    first_month timestamptz := date_trunc('month', now());
BEGIN
    FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
             WHERE i.inhparent = 'public.positions'::regclass AND c.relname ~ '^positions_[0-9]{6}$' LOOP
        EXECUTE format('ALTER TABLE %I RENAME TO %I', r.relname,
                       'positions_p' || substr(r.relname, 11, 4) || '_' || substr(r.relname, 15, 2));
        first_month := least(first_month, to_timestamp(substr(r.relname, 11, 6), 'YYYYMM'));
    END LOOP;
    ALTER TABLE positions DETACH PARTITION positions_default;
    ALTER TABLE positions_default RENAME TO positions_default_0017;
    PERFORM partman.create_parent('public.positions', 'ts', 'native', 'monthly', p_premake := 4,
                                  p_start_partition := to_char(first_month, 'YYYY-MM-DD HH24:MI:SS+00'),
                                  p_jobmon := false);
    IF to_regclass('public.positions_default') IS NULL THEN
        -- create_parent makes the default partition only when it made some month (all existed already)
        ALTER TABLE positions_default_0017 RENAME TO positions_default;
        ALTER TABLE positions ATTACH PARTITION positions_default DEFAULT;
    ELSE
        INSERT INTO positions SELECT * FROM positions_default_0017;
        DROP TABLE positions_default_0017;
    END IF;
END $$;

-- A fix of a month partman has not made (older than the first partition) waits in positions_default
-- until `citygrid db maintain` moves it (partman.partition_data_time). This function stays for callers
-- that want the month now (the demo loader): it makes the month in partman's naming and moves the
-- default partition's rows for it. Ingest no longer calls it (no DDL on the write path).
CREATE OR REPLACE FUNCTION positions_ensure_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    hi timestamptz := lo + interval '1 month';
    part text := 'positions_p' || to_char(lo AT TIME ZONE 'UTC', 'YYYY_MM');
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

-- alarms: rebuilt as a table partitioned by start. The primary key becomes (id, start) (a partitioned
-- table's unique keys must carry the partition key); ids still come from the one sequence, so they stay
-- unique and the OGC item ids do not change. The alarm identity already includes start.
ALTER TABLE alarms RENAME TO alarms_0017;
DROP TRIGGER IF EXISTS ogc_changes_bump ON alarms_0017;
ALTER TABLE alarms_0017 DROP CONSTRAINT alarms_pkey;
DROP INDEX alarms_identity_idx, alarms_kind_idx, alarms_open_idx, alarms_start_idx, alarms_vehicle_idx;

CREATE TABLE alarms (
    id           bigint NOT NULL DEFAULT nextval('alarms_id_seq'),
    kind         text NOT NULL,
    vehicle_id   text NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
    fence_id     bigint REFERENCES fences(id) ON DELETE SET NULL,
    start        timestamptz NOT NULL,
    "end"        timestamptz,
    max_value    double precision,
    details      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    geom         geometry(Point, 4490),
    CONSTRAINT alarms_pkey PRIMARY KEY (id, start),
    CONSTRAINT alarms_kind_fk FOREIGN KEY (kind) REFERENCES alarm_kinds(kind)
) PARTITION BY RANGE (start);
ALTER SEQUENCE alarms_id_seq OWNED BY alarms.id;
CREATE UNIQUE INDEX alarms_identity_idx ON alarms (vehicle_id, kind, coalesce(fence_id, 0), start);
CREATE INDEX alarms_kind_idx ON alarms (kind, start);
CREATE INDEX alarms_open_idx ON alarms (vehicle_id) WHERE "end" IS NULL;
CREATE INDEX alarms_start_idx ON alarms (start);
CREATE INDEX alarms_vehicle_idx ON alarms (vehicle_id, start);
CREATE TRIGGER ogc_changes_bump AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON alarms
    FOR EACH STATEMENT EXECUTE FUNCTION ogc_changes_bump();

DO $$
DECLARE
    first_month timestamptz := least(date_trunc('month', now()),
                                     (SELECT date_trunc('month', min(start)) FROM alarms_0017));
BEGIN
    PERFORM partman.create_parent('public.alarms', 'start', 'native', 'monthly', p_premake := 4,
                                  p_start_partition := to_char(first_month, 'YYYY-MM-DD HH24:MI:SS+00'),
                                  p_jobmon := false);
    IF to_regclass('public.alarms_default') IS NULL THEN
        CREATE TABLE alarms_default PARTITION OF alarms DEFAULT;
    END IF;
END $$;
INSERT INTO alarms SELECT * FROM alarms_0017;
DROP TABLE alarms_0017;

-- Premake keeps going with the calendar even in a quiet month (not only after new data).
UPDATE partman.part_config SET infinite_time_partitions = true, retention_keep_table = false
 WHERE parent_table IN ('public.positions', 'public.alarms');
