-- Issue 16: street shops (沿街商铺) with collection and evaluation records, construction-waste sites and
-- muck-truck permits (建筑垃圾/渣土), evaluation sample points (评价样本点位) with draws, assignments and
-- check-ins. Change counters and H3 columns follow from the catalog (gis.db.catalog_sync).

-- ---------------------------------------------------------------------------------------------- shops
CREATE TABLE shops (
    id           bigserial PRIMARY KEY,
    code         text NOT NULL UNIQUE,                 -- 商户编号
    name         text NOT NULL,
    business     text,                                 -- 经营类别
    address      text,
    owner        text,
    contact      text,
    street_code  varchar(9) REFERENCES admin_areas(code) ON UPDATE CASCADE,
    -- 市容环境卫生责任区 (work_grids kind cityscape_responsibility) the shop answers for: derived, kept by
    -- the triggers below (no foreign key: grids are reloaded with TRUNCATE, which a reference would block).
    area_id      bigint,
    -- How the position was found: NULL = given in the file; else the geocoder's match level/confidence.
    match_level  text,
    confidence   real CHECK (confidence IS NULL OR confidence BETWEEN 0 AND 1),
    registered   date,
    note         text,
    geom         geometry(Point, 4490) NOT NULL
);
CREATE INDEX shops_geom_idx ON shops USING gist (geom);
CREATE INDEX shops_area_idx ON shops (area_id);

-- The area of a shop: the responsibility area covering it (the first by id when bands overlap at a crossing).
CREATE OR REPLACE FUNCTION shops_area_of(p geometry) RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT w.id FROM work_grids w
    WHERE w.kind = 'cityscape_responsibility' AND ST_Covers(w.geom, p) ORDER BY w.id LIMIT 1
$$;
CREATE OR REPLACE FUNCTION shops_area_set() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.area_id := shops_area_of(NEW.geom);
    RETURN NEW;
END $$;
CREATE TRIGGER shops_area BEFORE UPDATE OF geom ON shops
    FOR EACH ROW EXECUTE FUNCTION shops_area_set();
-- New shops: one set-based join per statement (an import of 10,000 shops tests each band once per
-- consecutive run of shops, with PostGIS's prepared-geometry cache, instead of 10,000 trigger calls).
CREATE OR REPLACE FUNCTION shops_area_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Also the street of a shop placed without one (its 9-digit street code from its position).
    UPDATE shops s SET
        area_id = (SELECT w.id FROM work_grids w WHERE w.kind = 'cityscape_responsibility'
                   AND ST_Covers(w.geom, s.geom) ORDER BY w.id LIMIT 1),
        street_code = coalesce(s.street_code, (SELECT a.code FROM admin_areas a WHERE a.level = 'street'
                                               AND ST_Covers(a.geom, s.geom) ORDER BY a.code LIMIT 1))
    FROM new_shops n WHERE s.id = n.id;
    RETURN NULL;
END $$;
CREATE TRIGGER shops_area_insert AFTER INSERT ON shops REFERENCING NEW TABLE AS new_shops
    FOR EACH STATEMENT EXECUTE FUNCTION shops_area_insert();
-- Responsibility areas redrawn: reassign every shop in one statement.
CREATE OR REPLACE FUNCTION shops_area_refresh() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE shops s SET area_id = a.id
    FROM (SELECT s2.id AS shop, shops_area_of(s2.geom) AS id FROM shops s2) a
    WHERE a.shop = s.id AND a.id IS DISTINCT FROM s.area_id;
    RETURN NULL;
END $$;
CREATE TRIGGER shops_area_refresh AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON work_grids
    FOR EACH STATEMENT EXECUTE FUNCTION shops_area_refresh();

-- 收运记录: who, when, how much, which kind. The shop's position is copied (heat of collected weight).
CREATE TABLE shop_collections (
    id          bigserial PRIMARY KEY,
    shop_id     bigint NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    ts          timestamptz NOT NULL,
    collector   text,
    vehicle_id  text REFERENCES vehicles(id) ON DELETE SET NULL,
    waste_kind  text NOT NULL CHECK (waste_kind IN ('kitchen', 'residual', 'recyclable', 'hazardous', 'bulky')),
    weight_kg   double precision NOT NULL CHECK (weight_kg >= 0),
    geom        geometry(Point, 4490) NOT NULL
);
CREATE INDEX shop_collections_shop_idx ON shop_collections (shop_id, ts);
CREATE INDEX shop_collections_ts_idx ON shop_collections (ts);
CREATE INDEX shop_collections_geom_idx ON shop_collections USING gist (geom);

-- 评价记录: pass (合格), warn (基本合格), fail (不合格).
CREATE TABLE shop_evaluations (
    id         bigserial PRIMARY KEY,
    shop_id    bigint NOT NULL REFERENCES shops(id) ON DELETE CASCADE,
    ts         timestamptz NOT NULL,
    inspector  text,
    result     text NOT NULL CHECK (result IN ('pass', 'warn', 'fail')),
    note       text
);
CREATE INDEX shop_evaluations_shop_idx ON shop_evaluations (shop_id, ts);

-- The integrity colour (诚信) at an instant, by the rule of docs/decisions.md ("Shop integrity"):
--   red    — the latest evaluation of the last 30 days is 不合格, or ≥ 2 不合格 in those 30 days;
--   yellow — otherwise any 不合格/基本合格 in the 30 days, or no collection in the last 7 days;
--   green  — otherwise.
CREATE OR REPLACE FUNCTION shop_state_at(at timestamptz) RETURNS TABLE (
    shop_id bigint, last_collected timestamptz, last_weight_kg double precision, last_evaluated timestamptz,
    last_result text, fails_30d integer, warns_30d integer, integrity text
) LANGUAGE sql STABLE AS $$
    SELECT s.id, c.ts, c.weight_kg, e.ts, e.result, coalesce(n.fails, 0), coalesce(n.warns, 0),
           CASE WHEN (e.result = 'fail' AND e.ts > at - interval '30 days') OR coalesce(n.fails, 0) >= 2 THEN 'red'
                WHEN coalesce(n.fails, 0) + coalesce(n.warns, 0) > 0
                     OR c.ts IS NULL OR c.ts <= at - interval '7 days' THEN 'yellow'
                ELSE 'green' END
    FROM shops s
    LEFT JOIN LATERAL (SELECT ts, weight_kg FROM shop_collections
                       WHERE shop_id = s.id AND ts <= at ORDER BY ts DESC LIMIT 1) c ON TRUE
    LEFT JOIN LATERAL (SELECT ts, result FROM shop_evaluations
                       WHERE shop_id = s.id AND ts <= at ORDER BY ts DESC LIMIT 1) e ON TRUE
    LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE result = 'fail')::int AS fails,
                              count(*) FILTER (WHERE result = 'warn')::int AS warns
                       FROM shop_evaluations WHERE shop_id = s.id AND ts <= at AND ts > at - interval '30 days') n
           ON TRUE
$$;

-- ------------------------------------------------------------------------- construction waste (渣土)
CREATE TABLE cw_sites (
    id             bigserial PRIMARY KEY,
    code           text NOT NULL UNIQUE,
    name           text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('construction_site', 'disposal_site', 'wharf', 'transfer_yard',
                                                 'parking')),
    address        text,
    operator       text,
    contact        text,
    permit_from    date,                               -- 工地: the permit period
    permit_to      date CHECK (permit_to IS NULL OR permit_from IS NULL OR permit_to >= permit_from),
    disposal_code  text,                               -- 工地: its registered 消纳场 (a cw_sites code)
    -- Trucks queue at the gate: stops within this distance of the site count as at the site.
    gate_m         double precision NOT NULL DEFAULT 150 CHECK (gate_m >= 0),
    area           geometry(MultiPolygon, 4490),
    geom           geometry(Point, 4490) NOT NULL
);
CREATE INDEX cw_sites_geom_idx ON cw_sites USING gist (geom);

-- 核准 permits: a muck truck may carry from a site to its disposal site along a registered route.
CREATE TABLE muck_permits (
    id           bigserial PRIMARY KEY,
    code         text NOT NULL UNIQUE,
    vehicle_id   text NOT NULL REFERENCES vehicles(id) ON DELETE CASCADE,
    site_id      bigint NOT NULL REFERENCES cw_sites(id) ON DELETE CASCADE,
    disposal_id  bigint NOT NULL REFERENCES cw_sites(id) ON DELETE CASCADE,
    valid_from   date NOT NULL,
    valid_to     date NOT NULL CHECK (valid_to >= valid_from),
    corridor_m   double precision NOT NULL DEFAULT 60 CHECK (corridor_m > 0),
    fence_id     bigint REFERENCES fences(id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    route        geometry(LineString, 4490) NOT NULL
);
CREATE INDEX muck_permits_vehicle_idx ON muck_permits (vehicle_id);

-- The alarm kinds are enforced by the foreign key to alarm_kinds (0005); the older CHECK listed them again.
ALTER TABLE alarms DROP CONSTRAINT IF EXISTS alarms_kind;
ALTER TABLE fences DROP CONSTRAINT fences_alarm_kind;
ALTER TABLE fences ADD CONSTRAINT fences_alarm_kind CHECK (alarm_kind IS NULL OR alarm_kind IN (
    'out_of_area', 'cross_district', 'illegal_dumping', 'unapproved_route', 'restricted_hours'));
INSERT INTO alarm_kinds (kind, label_zh, label_en, sort) VALUES
    ('illegal_dumping',  '偷倒/乱倒',     'muck truck stopped too long outside any registered site', 10),
    ('unapproved_route', '未按核准路线',   'muck truck left its permit''s route corridor', 11),
    ('restricted_hours', '夜间/限时禁行', 'on a restricted road in restricted hours', 12)
ON CONFLICT (kind) DO NOTHING;

-- ------------------------------------------------------------------ evaluation sample points (样本点位)
CREATE TABLE eval_sample_points (
    id           bigserial PRIMARY KEY,
    code         text NOT NULL UNIQUE,
    name         text NOT NULL,
    kind         text NOT NULL,                        -- vocabulary gis.catalog.vocab.SAMPLE_KINDS
    street_code  varchar(9) REFERENCES admin_areas(code) ON UPDATE CASCADE,
    address      text,
    radius_m     double precision NOT NULL DEFAULT 50 CHECK (radius_m > 0),
    note         text,
    area         geometry(MultiPolygon, 4490),        -- the point's extent where it has one (market, site)
    geom         geometry(Point, 4490) NOT NULL
);
CREATE INDEX eval_sample_points_geom_idx ON eval_sample_points USING gist (geom);
CREATE INDEX eval_sample_points_kind_idx ON eval_sample_points (kind);

CREATE TABLE eval_sample_draws (
    id        bigserial PRIMARY KEY,
    drawn_at  timestamptz NOT NULL DEFAULT now(),
    actor     text,
    seed      bigint NOT NULL,
    request   jsonb NOT NULL,
    result    jsonb NOT NULL
);

CREATE TABLE eval_sample_assignments (
    id           bigserial PRIMARY KEY,
    draw_id      bigint NOT NULL REFERENCES eval_sample_draws(id) ON DELETE CASCADE,
    point_id     bigint NOT NULL REFERENCES eval_sample_points(id) ON DELETE CASCADE,
    inspector    text NOT NULL,
    assigned_by  text,
    assigned_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT eval_sample_assignments_unique UNIQUE (draw_id, point_id)
);

CREATE TABLE eval_sample_checkins (
    id          bigserial PRIMARY KEY,
    point_id    bigint NOT NULL REFERENCES eval_sample_points(id) ON DELETE CASCADE,
    inspector   text,
    ts          timestamptz NOT NULL DEFAULT now(),
    inside      boolean NOT NULL,
    distance_m  double precision NOT NULL,
    crs         text,
    geom        geometry(Point, 4490) NOT NULL
);
CREATE INDEX eval_sample_checkins_point_idx ON eval_sample_checkins (point_id, ts);
