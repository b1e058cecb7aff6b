-- Cameras, IoT devices and their readings and alarms (issue 15).

-- The viewed sector of a camera: apex at the camera, `fov` degrees wide centred on `dir` (degrees
-- clockwise from north), `r` metres deep, measured on the ellipsoid (ST_Project on geography), so the
-- map, coverage and nearest all agree in metres. A 360° field of view (a rotating dome) is a disc.
-- Its own search_path: a restore (pg_dump sets an empty one) computes the generated column with it.
CREATE OR REPLACE FUNCTION camera_sector(p geometry, dir double precision, fov double precision,
                                         r double precision) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path FROM CURRENT AS $$
    SELECT CASE
        WHEN p IS NULL OR r IS NULL OR r <= 0 THEN NULL
        WHEN coalesce(fov, 360) >= 360 THEN ST_SetSRID(ST_Buffer(p::geography, r, 16)::geometry, 4490)
        ELSE ST_SetSRID(ST_MakePolygon(ST_MakeLine(ARRAY[p]
            || ARRAY(SELECT ST_SetSRID(ST_Project(p::geography, r,
                                                  radians(coalesce(dir, 0) - fov / 2 + fov * i / 24.0))::geometry, 4490)
                     FROM generate_series(0, 24) AS i ORDER BY i)
            || ARRAY[p])), 4490)
    END
$$;

-- 监控点位: one row per video channel; `id` is its GB/T 28181 channel code, `device_code` the code of
-- the device (NVR / IPC) carrying it. Both are 20 digits: centre 8 (region 6 + unit 2), industry 2,
-- type 3, network 1, sequence 6.
CREATE TABLE cameras (
    id              varchar(20) PRIMARY KEY,
    device_code     varchar(20) NOT NULL,
    name            text NOT NULL,
    kind            text NOT NULL,
    owner           text,
    direction_deg   double precision NOT NULL DEFAULT 0,
    fov_deg         double precision NOT NULL DEFAULT 60,
    range_m         double precision NOT NULL DEFAULT 50,
    state           text NOT NULL DEFAULT 'online',
    last_seen       timestamptz,
    stream_url      text,
    rtsp_url        text,
    snapshot_url    text,
    watches_kind    text,
    watches_ref     text,
    unit_grid_code  varchar(15) REFERENCES unit_grids(code) ON UPDATE CASCADE ON DELETE SET NULL,
    note            text,
    geom            geometry(Point, 4490) NOT NULL,
    sector          geometry(Polygon, 4490) GENERATED ALWAYS AS (camera_sector(geom, direction_deg, fov_deg, range_m)) STORED,
    CONSTRAINT cameras_id_format CHECK (id ~ '^[0-9]{20}$' AND device_code ~ '^[0-9]{20}$'),
    CONSTRAINT cameras_kind CHECK (kind IN ('bullet', 'dome', 'half_dome', 'ai', 'body_camera')),
    CONSTRAINT cameras_state CHECK (state IN ('online', 'offline')),
    CONSTRAINT cameras_direction CHECK (direction_deg >= 0 AND direction_deg < 360),
    CONSTRAINT cameras_fov CHECK (fov_deg > 0 AND fov_deg <= 360),
    CONSTRAINT cameras_range CHECK (range_m > 0 AND range_m <= 1000),
    CONSTRAINT cameras_watches CHECK (watches_kind IS NULL OR watches_kind IN ('drop_point', 'compound', 'road'))
);
CREATE INDEX cameras_geom_idx ON cameras USING gist (geom);
CREATE INDEX cameras_sector_idx ON cameras USING gist (sector) WHERE state = 'online';

-- 物联感知 devices: state and latest values are kept on the row by the readings ingest.
CREATE TABLE devices (
    id              text PRIMARY KEY,
    name            text NOT NULL,
    kind            text NOT NULL,
    owner           text,
    facility_code   text,
    unit_grid_code  varchar(15) REFERENCES unit_grids(code) ON UPDATE CASCADE ON DELETE SET NULL,
    offline_after_s double precision,
    note            text,
    state           text NOT NULL DEFAULT 'unknown',
    last_ts         timestamptz,
    last_values     jsonb NOT NULL DEFAULT '{}',
    geom            geometry(Point, 4490) NOT NULL,
    CONSTRAINT devices_kind CHECK (kind IN ('overflow', 'manhole', 'billboard', 'environment', 'waterlogging')),
    CONSTRAINT devices_state CHECK (state IN ('unknown', 'normal', 'alarm', 'offline'))
);
CREATE INDEX devices_geom_idx ON devices USING gist (geom);

-- Thresholds per device kind and metric (data, editable): an alarm opens after `debounce_n` readings
-- in a row at or above `on_value` and recovers after `debounce_n` readings in a row below `off_value`
-- (hysteresis: off_value ≤ on_value). `offline_s`: no reading for this long raises 离线.
CREATE TABLE device_thresholds (
    kind        text NOT NULL,
    metric      text NOT NULL,
    alarm_kind  text NOT NULL,
    on_value    double precision NOT NULL,
    off_value   double precision NOT NULL,
    debounce_n  integer NOT NULL DEFAULT 2,
    unit        text,
    CONSTRAINT device_thresholds_pkey PRIMARY KEY (kind, metric),
    CONSTRAINT device_thresholds_hysteresis CHECK (off_value <= on_value AND debounce_n >= 1)
);
INSERT INTO device_thresholds (kind, metric, alarm_kind, on_value, off_value, debounce_n, unit) VALUES
    ('overflow',     'fill_pct',        'overflow',     90, 70, 2, '%'),
    ('manhole',      'displacement_mm', 'displacement', 10,  5, 2, 'mm'),
    ('billboard',    'tilt_deg',        'tilt',          5,  3, 2, '°'),
    ('environment',  'pm25',            'exceed',       75, 60, 3, 'µg/m³'),
    ('environment',  'noise_db',        'exceed',       70, 65, 3, 'dB(A)'),
    ('waterlogging', 'depth_cm',        'exceed',       15, 10, 2, 'cm');

CREATE TABLE device_readings (
    device_id  text NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    metric     text NOT NULL,
    ts         timestamptz NOT NULL,
    value      double precision NOT NULL,
    CONSTRAINT device_readings_pkey PRIMARY KEY (device_id, metric, ts)
);
CREATE INDEX device_readings_ts_idx ON device_readings USING brin (ts);

-- Debounce state per device and metric (survives restarts and other workers).
CREATE TABLE device_metric_state (
    device_id   text NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    metric      text NOT NULL,
    above_n     integer NOT NULL DEFAULT 0,
    below_n     integer NOT NULL DEFAULT 0,
    run_start   timestamptz,
    run_max     double precision,
    alarm_id    bigint,
    last_ts     timestamptz,
    CONSTRAINT device_metric_state_pkey PRIMARY KEY (device_id, metric)
);

-- 满溢 / 位移 / 倾斜 / 超标 / 离线: their events go to alarm_events (the one alarm stream) with
-- `source: "device"` in the payload.
CREATE TABLE device_alarms (
    id          bigserial PRIMARY KEY,
    device_id   text NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    kind        text NOT NULL,
    metric      text NOT NULL DEFAULT '',
    start       timestamptz NOT NULL,
    "end"       timestamptz,
    max_value   double precision,
    details     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    geom        geometry(Point, 4490),
    CONSTRAINT device_alarms_kind CHECK (kind IN ('overflow', 'displacement', 'tilt', 'exceed', 'offline')),
    CONSTRAINT device_alarms_identity UNIQUE (device_id, kind, metric, start)
);
CREATE INDEX device_alarms_open_idx ON device_alarms (device_id) WHERE "end" IS NULL;
