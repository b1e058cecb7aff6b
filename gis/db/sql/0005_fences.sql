-- Fences, routes, tracks and alarms (issue 9): what the evaluation engine needs beyond the core schema.

CREATE EXTENSION IF NOT EXISTS pgrouting;

-- A fence applies to listed vehicles and to listed vehicle groups (vehicles.vehicle_group).
ALTER TABLE fences ADD COLUMN vehicle_groups text[] NOT NULL DEFAULT '{}';
-- Which alarm an area fence raises: 越区 (out_of_area, default) or 跨区作业 (cross_district).
ALTER TABLE fences ADD COLUMN alarm_kind text;
ALTER TABLE fences ADD CONSTRAINT fences_alarm_kind CHECK (alarm_kind IS NULL OR alarm_kind IN (
    'out_of_area', 'cross_district'));
CREATE INDEX fences_route_idx ON fences (route_id);

-- 信号接收超时 threshold per vehicle (seconds); NULL = the fence's or the default.
ALTER TABLE vehicles ADD COLUMN signal_timeout_s double precision;

-- The published list of alarm kinds with their Chinese labels (standards.md §5).
CREATE TABLE alarm_kinds (
    kind      text PRIMARY KEY,
    label_zh  text NOT NULL,
    label_en  text NOT NULL,
    sort      smallint NOT NULL
);
INSERT INTO alarm_kinds (kind, label_zh, label_en, sort) VALUES
    ('out_of_area',    '越区',         'left the assigned area', 1),
    ('forbidden',      '禁行',         'inside a forbidden road or zone', 2),
    ('off_route',      '路线偏离',     'off the planned route corridor', 3),
    ('overspeed',      '超速',         'over the speed limit', 4),
    ('illegal_stay',   '违规停留',     'stopped too long where not allowed', 5),
    ('missed_stop',    '漏收/超时未收', 'scheduled stop not visited within its window', 6),
    ('signal_timeout', '信号接收超时', 'no fix for too long', 7),
    ('cross_district', '跨区作业',     'working outside its district', 8),
    ('late_warning',   '预计超时预警', 'predicted late completion of a stop', 9);
ALTER TABLE alarms ADD CONSTRAINT alarms_kind_fk FOREIGN KEY (kind) REFERENCES alarm_kinds(kind);

-- One alarm per (vehicle, kind, fence, start): the engine's writes are idempotent upserts, so a
-- re-sent batch or a re-evaluation after a late fix never duplicates an alarm.
CREATE UNIQUE INDEX alarms_identity_idx ON alarms (vehicle_id, kind, coalesce(fence_id, 0), start);
CREATE INDEX alarms_open_idx ON alarms (vehicle_id) WHERE "end" IS NULL;
CREATE INDEX alarms_kind_idx ON alarms (kind, start);

-- The alarm feed: every open/update/close/retract, in order. Its id is the SSE event id, so a client
-- reconnecting with Last-Event-ID gets exactly what it missed. No foreign key: events outlive alarms.
CREATE TABLE alarm_events (
    id        bigserial PRIMARY KEY,
    alarm_id  bigint NOT NULL,
    op        text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    payload   jsonb NOT NULL,
    CONSTRAINT alarm_events_op CHECK (op IN ('opened', 'updated', 'closed', 'retracted'))
);

-- Per-vehicle evaluation watermark: a worker's in-memory state for a vehicle is valid only while the
-- sequence number it wrote last is still here (another worker, or a reset of the data, changes it).
CREATE TABLE fence_vehicle_state (
    vehicle_id  text PRIMARY KEY REFERENCES vehicles(id) ON DELETE CASCADE,
    seq         bigint NOT NULL,
    last_ts     timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The routable street network, noded at intersections and built from `streets` on demand (pgRouting).
CREATE TABLE route_edges (
    id            bigserial PRIMARY KEY,
    street_id     bigint REFERENCES streets(id) ON DELETE CASCADE,
    source        bigint NOT NULL,
    target        bigint NOT NULL,
    cost          double precision NOT NULL,
    reverse_cost  double precision NOT NULL,
    geom          geometry(LineString, 4490) NOT NULL
);
CREATE INDEX route_edges_geom_idx ON route_edges USING gist (geom);
CREATE INDEX route_edges_source_idx ON route_edges (source);
CREATE INDEX route_edges_target_idx ON route_edges (target);

CREATE TABLE route_vertices (
    id    bigint PRIMARY KEY,
    geom  geometry(Point, 4490) NOT NULL
);
CREATE INDEX route_vertices_geom_idx ON route_vertices USING gist (geom);

-- What the network was built from (rebuilt when the streets change).
CREATE TABLE route_graph_meta (
    id             smallint PRIMARY KEY DEFAULT 1,
    streets_count  bigint NOT NULL,
    streets_max_id bigint,
    built_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT route_graph_meta_one CHECK (id = 1)
);
