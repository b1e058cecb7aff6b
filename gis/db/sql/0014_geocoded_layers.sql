-- Named layers of batch-geocoding results (批量地址 → 保存为图层): the placed rows of one upload under a
-- name, published through OGC API – Features as the `geocoded_points` collection (filter `layer=<name>`).
-- Change counters follow from the catalog (gis.db.catalog_sync).
CREATE TABLE geocoded_points (
    id               bigserial PRIMARY KEY,
    layer            text NOT NULL CHECK (length(btrim(layer)) BETWEEN 1 AND 100),
    row_no           integer NOT NULL CHECK (row_no >= 0),
    query            text,
    standard_address text,
    match_level      text,
    confidence       double precision CHECK (confidence IS NULL OR (confidence >= 0 AND confidence <= 1)),
    created_at       timestamptz NOT NULL DEFAULT now(),
    geom             geometry(Point, 4490) NOT NULL,
    CONSTRAINT geocoded_points_row_unique UNIQUE (layer, row_no)
);
CREATE INDEX geocoded_points_geom_idx ON geocoded_points USING gist (geom);
