"""The catalog is the one place a published table is declared: what follows from an entry."""

from __future__ import annotations

import psycopg

from gis import catalog
from gis.catalog import Field, Heat, Import, Layer
from gis.catalog.vocab import WASTE_KINDS
from gis.db import catalog_sync
from gis.io.layers import get_layer
from layers.sources import SOURCES


def test_every_view_derives_from_the_catalog() -> None:
    published = {layer.id for layer in catalog.published()}
    assert "complaints" not in published and "waste_records" not in published
    assert {s.id for s in SOURCES.values() if s.ogc} <= published
    assert set(SOURCES) == {layer.id for layer in catalog.LAYERS if layer.heat}
    assert get_layer("regions").table == "admin_areas"
    assert catalog.h3_tables() == {layer.table for layer in catalog.LAYERS if layer.h3}


def test_catalog_endpoint_serves_titles_and_labels(http) -> None:
    r = http.get("/api/catalog")
    assert r.status_code == 200
    by_id = {layer["id"]: layer for layer in r.json()}
    assert set(by_id) == {layer.id for layer in catalog.LAYERS}
    waste = {f["name"]: f for f in by_id["waste_facilities"]["fields"]}
    assert waste["kind"]["labels"] == WASTE_KINDS.labels
    assert waste["kind"]["labels"]["drop_point"] == "垃圾投放点"
    assert by_id["cases"]["heat_source"] and by_id["cases"]["ogc_collection"] and by_id["cases"]["importable"]
    assert not by_id["complaints"]["ogc_collection"]


def test_a_new_point_layer_gets_its_counter_and_h3_cells_from_its_entry(db: psycopg.Connection) -> None:
    db.execute("DROP TABLE IF EXISTS scratch_points")
    db.execute("CREATE TABLE scratch_points (id bigserial PRIMARY KEY, name text, geom geometry(Point, 4490))")
    layer = Layer("scratch_points", "试验点", "Scratch points", "", "scratch_points", "Point",
                  (Field("name", "名称", names=("name",)),), id_type="integer", h3=True, heat=Heat(),
                  io=Import(("id",)))
    try:
        added = catalog_sync.sync(db, (layer,))
        assert added == ["change counter on scratch_points", "h3 cells on scratch_points"]
        assert catalog_sync.sync(db, (layer,)) == []  # idempotent
        before = db.execute("SELECT sum(version) FROM ogc_changes WHERE table_name = 'scratch_points'").fetchone()[0]
        db.execute("INSERT INTO scratch_points (name, geom, h3_cell) "
                   "VALUES ('a', ST_SetSRID(ST_Point(121.4, 31.3), 4490), 42)")
        after = db.execute("SELECT sum(version) FROM ogc_changes WHERE table_name = 'scratch_points'").fetchone()[0]
        assert after == before + 1
        db.execute("UPDATE scratch_points SET geom = ST_SetSRID(ST_Point(121.5, 31.3), 4490)")
        assert db.execute("SELECT h3_cell FROM scratch_points").fetchone()[0] is None  # a moved point loses its cell
    finally:
        db.execute("DROP TABLE IF EXISTS scratch_points")
        db.execute("DELETE FROM ogc_changes WHERE table_name = 'scratch_points'")
