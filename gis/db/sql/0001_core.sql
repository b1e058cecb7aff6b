-- CityGrid core schema. Every geometry is stored in EPSG:4490 (CGCS2000 geographic).
-- Codes are digit strings (leading zeros matter) checked by CHECK constraints; parents by foreign keys.

CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Metadata about the loaded data (e.g. {"synthetic": true} for the generated demo district).
CREATE TABLE dataset_meta (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- 区域: district (6), street/town (9), community/village (12).
CREATE TABLE admin_areas (
    code         varchar(12) PRIMARY KEY,
    level        text NOT NULL,
    name         text NOT NULL,
    parent_code  varchar(12) REFERENCES admin_areas(code) ON UPDATE CASCADE,
    alias        text[] NOT NULL DEFAULT '{}',
    old_name     text[] NOT NULL DEFAULT '{}',
    data_source  text,
    or_date      date,
    ch_date      date,
    note         text,
    area_m2      double precision,
    geom         geometry(MultiPolygon, 4490) NOT NULL,
    CONSTRAINT admin_areas_code_format CHECK (code ~ '^([0-9]{6}|[0-9]{9}|[0-9]{12})$'),
    CONSTRAINT admin_areas_level CHECK (
        (level = 'district' AND length(code) = 6 AND parent_code IS NULL)
        OR (level = 'street' AND length(code) = 9 AND parent_code = left(code, 6))
        OR (level = 'community' AND length(code) = 12 AND parent_code = left(code, 9))
    ),
    CONSTRAINT admin_areas_geom_valid CHECK (ST_IsValid(geom))
);
CREATE INDEX admin_areas_geom_idx ON admin_areas USING gist (geom);
CREATE INDEX admin_areas_parent_idx ON admin_areas (parent_code);

-- 评价网格: district 6 + street 3 + sequence 3. Built from whole unit grids.
CREATE TABLE eval_grids (
    code         varchar(12) PRIMARY KEY,
    street_code  varchar(9) NOT NULL REFERENCES admin_areas(code) ON UPDATE CASCADE,
    name         text,
    area_class   char(1),
    area_m2      double precision,
    first_date   date,
    change_date  date,
    note         text,
    geom         geometry(MultiPolygon, 4490) NOT NULL,
    CONSTRAINT eval_grids_code_format CHECK (code ~ '^[0-9]{12}$' AND left(code, 9) = street_code),
    CONSTRAINT eval_grids_area_class CHECK (area_class IS NULL OR area_class IN ('A', 'B', 'C')),
    CONSTRAINT eval_grids_geom_valid CHECK (ST_IsValid(geom))
);
CREATE INDEX eval_grids_geom_idx ON eval_grids USING gist (geom);

-- 单元网格: community 12 + sequence 3.
CREATE TABLE unit_grids (
    code            varchar(15) PRIMARY KEY,
    community_code  varchar(12) NOT NULL REFERENCES admin_areas(code) ON UPDATE CASCADE,
    eval_code       varchar(12) REFERENCES eval_grids(code) ON UPDATE CASCADE ON DELETE SET NULL,
    name            text,
    area_m2         double precision,
    or_date         date,
    ch_date         date,
    note            text,
    geom            geometry(MultiPolygon, 4490) NOT NULL,
    CONSTRAINT unit_grids_code_format CHECK (code ~ '^[0-9]{15}$' AND left(code, 12) = community_code),
    CONSTRAINT unit_grids_geom_valid CHECK (ST_IsValid(geom))
);
CREATE INDEX unit_grids_geom_idx ON unit_grids USING gist (geom);
CREATE INDEX unit_grids_community_idx ON unit_grids (community_code);
CREATE INDEX unit_grids_eval_idx ON unit_grids (eval_code);

-- 工作网格 / 责任网格 / 环卫巡查网格 …: one table, a kind column, an assignee.
CREATE TABLE work_grids (
    id           bigserial PRIMARY KEY,
    code         text NOT NULL,
    kind         text NOT NULL,
    name         text NOT NULL,
    street_code  varchar(9) REFERENCES admin_areas(code) ON UPDATE CASCADE,
    assignee     text,
    team         text,
    note         text,
    geom         geometry(MultiPolygon, 4490) NOT NULL,
    CONSTRAINT work_grids_kind CHECK (kind IN (
        'work', 'responsibility', 'sanitation_patrol', 'greening_maintenance',
        'enforcement_patrol', 'cityscape_responsibility')),
    CONSTRAINT work_grids_code_unique UNIQUE (kind, code),
    CONSTRAINT work_grids_geom_valid CHECK (ST_IsValid(geom))
);
CREATE INDEX work_grids_geom_idx ON work_grids USING gist (geom);
CREATE INDEX work_grids_assignee_idx ON work_grids (assignee);

-- 街巷: street segments with house-number ranges (GB/T 30428.3 field names in comments).
CREATE TABLE streets (
    id             bigserial PRIMARY KEY,
    str_id         text NOT NULL UNIQUE,          -- StrID
    name           text NOT NULL,                 -- StrName
    alias          text[] NOT NULL DEFAULT '{}',  -- Alias
    old_name       text[] NOT NULL DEFAULT '{}',  -- OldName
    s_housenum     integer,                       -- SHousenum
    l_housenum     integer,                       -- LHousenum
    beginning      text,                          -- Beginning
    ending         text,                          -- Ending
    direction      text,                          -- Direction
    route_name     text,                          -- RouteName
    district_code  varchar(6) REFERENCES admin_areas(code) ON UPDATE CASCADE,
    street_code    varchar(9) REFERENCES admin_areas(code) ON UPDATE CASCADE,
    data_source    text,
    or_date        date,
    ch_date        date,
    note           text,
    geom           geometry(LineString, 4490) NOT NULL,
    CONSTRAINT streets_housenum_range CHECK (
        s_housenum IS NULL OR l_housenum IS NULL OR s_housenum <= l_housenum),
    CONSTRAINT streets_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
);
CREATE INDEX streets_geom_idx ON streets USING gist (geom);
CREATE INDEX streets_name_idx ON streets (name);
CREATE INDEX streets_name_trgm_idx ON streets USING gin (name gin_trgm_ops);

-- 地片/区片: compounds, functional zones, courtyards.
CREATE TABLE zones (
    zone_id      text PRIMARY KEY,               -- ZoneID
    name         text NOT NULL,                  -- ZoneName
    alias        text[] NOT NULL DEFAULT '{}',
    old_name     text[] NOT NULL DEFAULT '{}',
    boundary     text,                           -- Boundary (四至)
    subdis_name  text,
    subdis_code  varchar(9) REFERENCES admin_areas(code) ON UPDATE CASCADE,
    commu_name   text,
    commu_code   varchar(12) REFERENCES admin_areas(code) ON UPDATE CASCADE,
    data_source  text,
    or_date      date,
    ch_date      date,
    note         text,
    geom         geometry(MultiPolygon, 4490) NOT NULL,
    CONSTRAINT zones_geom_valid CHECK (ST_IsValid(geom))
);
CREATE INDEX zones_geom_idx ON zones USING gist (geom);
CREATE INDEX zones_name_idx ON zones (name);

-- 门（楼）牌.
CREATE TABLE doorplates (
    add_id       text PRIMARY KEY,               -- AddID
    add_name     text NOT NULL,                  -- AddName (full plate text)
    road_name    text,                           -- RoadName
    zone_name    text,                           -- ZoneName
    house_name   text,                           -- HouseName (the number as written)
    house_num    integer,                        -- the leading number, parsed, for interpolation
    lane         text,                           -- 弄 / 支弄 when on a lane
    building     text,                           -- 号楼 / 幢 / 栋
    street_id    bigint REFERENCES streets(id) ON DELETE SET NULL,
    subdis_name  text,
    subdis_code  varchar(9) REFERENCES admin_areas(code) ON UPDATE CASCADE,
    commu_name   text,
    commu_code   varchar(12) REFERENCES admin_areas(code) ON UPDATE CASCADE,
    data_source  text,
    or_date      date,
    ch_date      date,
    note         text,
    geom         geometry(Point, 4490) NOT NULL
);
CREATE INDEX doorplates_geom_idx ON doorplates USING gist (geom);
CREATE INDEX doorplates_road_idx ON doorplates (road_name, house_num);

-- 兴趣点.
CREATE TABLE pois (
    poi_id       text PRIMARY KEY,               -- POIID
    name         text NOT NULL,                  -- POIName
    old_name     text[] NOT NULL DEFAULT '{}',
    alias        text[] NOT NULL DEFAULT '{}',
    category     text,
    floor        text,
    add_name     text,                           -- door address, if any
    data_source  text,
    or_date      date,
    ch_date      date,
    note         text,
    geom         geometry(Point, 4490) NOT NULL
);
CREATE INDEX pois_geom_idx ON pois USING gist (geom);
CREATE INDEX pois_name_trgm_idx ON pois USING gin (name gin_trgm_ops);

-- 部件/事件 subclass table, shipped as data: kind component|event, 大类 2 digits, 小类 2 digits.
CREATE TABLE categories (
    kind        text NOT NULL,
    major       char(2) NOT NULL,
    minor       char(2) NOT NULL,
    major_name  text NOT NULL,
    name        text NOT NULL,
    PRIMARY KEY (kind, major, minor),
    CONSTRAINT categories_kind CHECK (kind IN ('component', 'event')),
    CONSTRAINT categories_codes CHECK (major ~ '^[0-9]{2}$' AND minor ~ '^[0-9]{2}$' AND minor <> '00')
);

-- 部件: 16-digit id = district 6 + 大类 2 + 小类 2 + sequence 6.
CREATE TABLE components (
    id              varchar(16) PRIMARY KEY,       -- 标识码
    kind            text NOT NULL DEFAULT 'component',
    major           char(2) NOT NULL,
    minor           char(2) NOT NULL,
    name            text,                          -- 名称
    dept            text,                          -- 主管部门
    owner           text,                          -- 权属单位
    maintainer      text,                          -- 养护单位
    unit_grid_code  varchar(15) REFERENCES unit_grids(code) ON UPDATE CASCADE ON DELETE SET NULL,
    status          text,                          -- 状态
    init_date       date,                          -- 初始时间
    change_date     date,                          -- 变更时间
    data_source     text,                          -- 数据来源
    location_desc   text,                          -- 位置描述
    currency        text,                          -- 现势性
    scale_denom     integer,                       -- 源比例尺分母
    note            text,                          -- 备注
    photo           text,                          -- 照片
    geom            geometry(Point, 4490) NOT NULL,
    CONSTRAINT components_id_format CHECK (id ~ '^[0-9]{16}$' AND substr(id, 7, 2) = major
                                           AND substr(id, 9, 2) = minor),
    CONSTRAINT components_kind CHECK (kind = 'component'),
    CONSTRAINT components_category FOREIGN KEY (kind, major, minor) REFERENCES categories(kind, major, minor)
);
CREATE INDEX components_geom_idx ON components USING gist (geom);
CREATE INDEX components_grid_idx ON components (unit_grid_code);
CREATE INDEX components_class_idx ON components (major, minor);

-- 环卫设施: drop points, collection points/stations, transfer stations, toilets, plants …
CREATE TABLE waste_facilities (
    id              bigserial PRIMARY KEY,
    code            text UNIQUE,
    name            text NOT NULL,
    kind            text NOT NULL,
    address         text,
    district_code   varchar(6) REFERENCES admin_areas(code) ON UPDATE CASCADE,
    unit_grid_code  varchar(15) REFERENCES unit_grids(code) ON UPDATE CASCADE ON DELETE SET NULL,
    capacity_tpd    double precision,              -- t/day (RJLJSJL)
    operator        text,
    contact         text,
    commissioned    date,
    attrs           jsonb NOT NULL DEFAULT '{}',   -- LX, LB, GGCSLX, seats, weighing …
    coverage        geometry(MultiPolygon, 4490),  -- 覆盖范围 (service area)
    geom            geometry(Point, 4490) NOT NULL,
    CONSTRAINT waste_facilities_kind CHECK (kind IN (
        'drop_point', 'collection_point', 'collection_station', 'compactor_station',
        'transfer_station', 'recyclables_point', 'hazardous_store', 'public_toilet',
        'kitchen_waste_plant', 'incinerator', 'landfill', 'disposal_terminal')),
    CONSTRAINT waste_facilities_coverage_valid CHECK (coverage IS NULL OR ST_IsValid(coverage))
);
CREATE INDEX waste_facilities_geom_idx ON waste_facilities USING gist (geom);
CREATE INDEX waste_facilities_kind_idx ON waste_facilities (kind);

-- Vehicles and terminals (one id everywhere: positions, alarms, fences, OGC feature id).
CREATE TABLE vehicles (
    id            text PRIMARY KEY,
    plate         text,
    kind          text NOT NULL,
    vehicle_group text,
    district_code varchar(6) REFERENCES admin_areas(code) ON UPDATE CASCADE,
    operator      text,
    note          text,
    CONSTRAINT vehicles_kind CHECK (kind IN (
        'household_waste', 'kitchen_waste', 'muck', 'enforcement', 'sweeper', 'phone', 'body_camera'))
);

-- Planned routes: a line and ordered stops ([{name, lon, lat, windows}] in 4490).
CREATE TABLE routes (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    kind         text NOT NULL DEFAULT 'regular',
    vehicle_id   text REFERENCES vehicles(id) ON DELETE SET NULL,
    stops        jsonb NOT NULL DEFAULT '[]',
    length_m     double precision,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    geom         geometry(LineString, 4490) NOT NULL,
    CONSTRAINT routes_kind CHECK (kind IN ('regular', 'temporary'))
);
CREATE INDEX routes_geom_idx ON routes USING gist (geom);

-- Electronic fences.
CREATE TABLE fences (
    id               bigserial PRIMARY KEY,
    name             text,
    kind             text NOT NULL,
    buffer_m         double precision,
    radius_m         double precision,
    speed_limit_kmh  double precision,
    dwell_limit_s    double precision,
    dwell_s          double precision,
    signal_timeout_s double precision,
    vehicles         text[] NOT NULL DEFAULT '{}',
    schedule         jsonb,
    windows          jsonb,
    debounce         jsonb,
    route_id         bigint REFERENCES routes(id) ON DELETE CASCADE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    geom             geometry(Geometry, 4490) NOT NULL,   -- as drawn
    zone             geometry(MultiPolygon, 4490),        -- effective area (buffers applied)
    CONSTRAINT fences_kind CHECK (kind IN ('area', 'forbidden', 'corridor', 'stop')),
    CONSTRAINT fences_geom_valid CHECK (ST_IsValid(geom))
);
CREATE INDEX fences_zone_idx ON fences USING gist (zone);

-- GPS fixes: range-partitioned by time (monthly partitions created on demand), tens of millions of rows.
CREATE TABLE positions (
    vehicle_id   text NOT NULL,
    ts           timestamptz NOT NULL,
    geom         geometry(Point, 4490) NOT NULL,
    speed_kmh    real,
    heading      real,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (vehicle_id, ts)
) PARTITION BY RANGE (ts);
CREATE TABLE positions_default PARTITION OF positions DEFAULT;
CREATE INDEX positions_geom_idx ON positions USING gist (geom);
CREATE INDEX positions_ts_idx ON positions USING brin (ts);

-- Creates the monthly partition that holds `at`, moving any rows the default partition holds for it.
CREATE FUNCTION positions_ensure_partition(at timestamptz) RETURNS text
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

-- Alarms: one record per alarm, open while "end" is null.
CREATE TABLE alarms (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    vehicle_id   text NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
    fence_id     bigint REFERENCES fences(id) ON DELETE SET NULL,
    start        timestamptz NOT NULL,
    "end"        timestamptz,
    max_value    double precision,
    details      jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now(),
    geom         geometry(Point, 4490),
    CONSTRAINT alarms_kind CHECK (kind IN (
        'out_of_area', 'forbidden', 'off_route', 'overspeed', 'illegal_stay', 'missed_stop',
        'signal_timeout', 'cross_district', 'late_warning'))
);
CREATE INDEX alarms_vehicle_idx ON alarms (vehicle_id, start);
CREATE INDEX alarms_start_idx ON alarms (start);

-- Cases (案件): event category codes, reported position and the grid they fall in.
CREATE TABLE cases (
    id              bigserial PRIMARY KEY,
    code            text UNIQUE,
    kind            text NOT NULL DEFAULT 'event',
    major           char(2) NOT NULL,
    minor           char(2) NOT NULL,
    source          text,                          -- hotline, supervisor, camera, …
    description     text,
    address         text,
    reporter        text,
    status          text NOT NULL DEFAULT 'open',
    reported_at     timestamptz NOT NULL,
    closed_at       timestamptz,
    unit_grid_code  varchar(15) REFERENCES unit_grids(code) ON UPDATE CASCADE ON DELETE SET NULL,
    weight          double precision NOT NULL DEFAULT 1,
    geom            geometry(Point, 4490) NOT NULL,
    CONSTRAINT cases_category FOREIGN KEY (kind, major, minor) REFERENCES categories(kind, major, minor),
    CONSTRAINT cases_kind CHECK (kind IN ('event', 'component'))
);
CREATE INDEX cases_geom_idx ON cases USING gist (geom);
CREATE INDEX cases_reported_idx ON cases (reported_at);
CREATE INDEX cases_grid_idx ON cases (unit_grid_code);

-- Waste collected / weighed: who generated it, which facility received it, by which vehicle.
CREATE TABLE waste_records (
    id            bigserial PRIMARY KEY,
    ts            timestamptz NOT NULL,
    waste_kind    text NOT NULL,                   -- kitchen, household, recyclable, hazardous, muck
    tonnes        double precision NOT NULL CHECK (tonnes >= 0),
    source_poi_id text REFERENCES pois(poi_id) ON DELETE SET NULL,
    facility_id   bigint REFERENCES waste_facilities(id) ON DELETE SET NULL,
    vehicle_id    text REFERENCES vehicles(id) ON DELETE SET NULL,
    geom          geometry(Point, 4490) NOT NULL   -- where it was generated / collected
);
CREATE INDEX waste_records_ts_idx ON waste_records (ts);
CREATE INDEX waste_records_geom_idx ON waste_records USING gist (geom);

-- Evaluation-grid draws, kept for audit.
CREATE TABLE eval_draws (
    id          bigserial PRIMARY KEY,
    drawn_at    timestamptz NOT NULL DEFAULT now(),
    actor       text,
    city_class  smallint NOT NULL CHECK (city_class IN (1, 2, 3)),
    seed        bigint NOT NULL,
    result      jsonb NOT NULL
);

-- API keys (stored hashed) with roles.
CREATE TABLE api_keys (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    role        text NOT NULL,
    key_hash    text NOT NULL UNIQUE,
    prefix      text NOT NULL,
    vehicles    text[] NOT NULL DEFAULT '{}',     -- device keys: the vehicles they may report for
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CONSTRAINT api_keys_role CHECK (role IN ('viewer', 'inspector', 'planner', 'admin', 'device'))
);

-- Append-only, hash-chained audit log: each row's hash covers its content and the previous hash.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text NOT NULL,
    action     text NOT NULL,
    target     text NOT NULL,
    ids        text[] NOT NULL DEFAULT '{}',
    remote     text,
    detail     jsonb NOT NULL DEFAULT '{}',
    prev_hash  text NOT NULL,
    hash       text NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
