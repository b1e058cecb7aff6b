"""Automatic unit-grid assignment by trigger: components, waste facilities and cases, on insert and
update; a supplied code that disagrees with the position is refused with both codes."""

from __future__ import annotations

import orjson
import psycopg
import pytest

POINT = "SRID=4490;POINT({} {})"



def add_component(db: psycopg.Connection, cid: str, x: float, y: float, grid: str | None = None) -> str | None:
    return db.execute(
        "INSERT INTO components (id, major, minor, unit_grid_code, geom) VALUES (%s, %s, %s, %s, %s) "
        "RETURNING unit_grid_code", (cid, cid[6:8], cid[8:10], grid, POINT.format(x, y))).fetchone()[0]


def test_component_gets_its_grid(grid_district: psycopg.Connection) -> None:
    assert add_component(grid_district, "3101130101000001", 121.435, 31.315) == "310113004001002"
    assert add_component(grid_district, "3101130101000002", 121.41, 31.31) == "310113003001001"   # shared vertex
    assert add_component(grid_district, "3101130101000003", 121.6, 31.6) is None                 # outside


def test_matching_code_accepted(grid_district: psycopg.Connection) -> None:
    assert add_component(grid_district, "3101130101000004", 121.405, 31.305, "310113003001001") == "310113003001001"


def test_disagreeing_code_refused_with_both_codes(grid_district: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.CheckViolation) as err:
        add_component(grid_district, "3101130101000123", 121.435, 31.315, "310113003001002")
    assert ("unit grid 310113003001002 given for component 3101130101000123 but its position lies in "
            "310113004001002") in str(err.value)


def test_disagreeing_code_message(grid_district: psycopg.Connection) -> None:
    grid_district.execute(
        "INSERT INTO unit_grids (code, community_code, geom) "
        "SELECT '310113003001005', '310113003001', geom FROM unit_grids WHERE code = '310113003001002'")
    grid_district.execute("DELETE FROM unit_grids WHERE code = '310113003001002'")
    with pytest.raises(psycopg.errors.CheckViolation) as err:
        add_component(grid_district, "3101130101000123", 121.405, 31.305, "310113003001005")
    assert ("unit grid 310113003001005 given for component 3101130101000123 but its position lies in "
            "310113003001001") in str(err.value)
    assert grid_district.execute("SELECT count(*) FROM components").fetchone()[0] == 0
    with pytest.raises(psycopg.errors.CheckViolation, match="lies outside every unit grid"):
        add_component(grid_district, "3101130101000124", 121.6, 31.6, "310113003001005")


def test_moving_a_component_rederives_its_grid(grid_district: psycopg.Connection) -> None:
    add_component(grid_district, "3101130101000005", 121.405, 31.305)
    grid_district.execute("UPDATE components SET geom = %s WHERE id = '3101130101000005'",
                          (POINT.format(121.435, 31.305),))
    assert grid_district.execute("SELECT unit_grid_code FROM components").fetchone()[0] == "310113004001002"
    with pytest.raises(psycopg.errors.CheckViolation, match="lies in 310113004001002"):
        grid_district.execute("UPDATE components SET unit_grid_code = '310113003001001'")
    grid_district.execute("UPDATE components SET name = 'x'")   # other columns do not re-check
    assert grid_district.execute("SELECT unit_grid_code FROM components").fetchone()[0] == "310113004001002"


def test_waste_facility_and_case(grid_district: psycopg.Connection) -> None:
    row = grid_district.execute(
        "INSERT INTO waste_facilities (name, kind, geom) VALUES ('投放点1', 'drop_point', %s) "
        "RETURNING unit_grid_code, district_code", (POINT.format(121.415, 31.315),)).fetchone()
    assert row == ("310113003002002", "310113")
    with pytest.raises(psycopg.errors.CheckViolation, match="given for waste facility 投放点2 but"):
        grid_district.execute("INSERT INTO waste_facilities (name, kind, unit_grid_code, geom) "
                              "VALUES ('投放点2', 'drop_point', '310113003001001', %s)",
                              (POINT.format(121.415, 31.315),))
    case = grid_district.execute(
        "INSERT INTO cases (code, major, minor, reported_at, geom) VALUES ('C1', '01', '01', now(), %s) "
        "RETURNING unit_grid_code", (POINT.format(121.425, 31.305),)).fetchone()[0]
    assert case == "310113004001001"
    with pytest.raises(psycopg.errors.CheckViolation, match="given for case C2 but its position lies in"):
        grid_district.execute("INSERT INTO cases (code, major, minor, reported_at, unit_grid_code, geom) "
                              "VALUES ('C2', '01', '01', now(), '310113003001001', %s)",
                              (POINT.format(121.425, 31.305),))


def test_bulk_copy_is_assigned(grid_district: psycopg.Connection) -> None:
    with grid_district.cursor().copy("COPY components (id, major, minor, geom) FROM STDIN") as copy:
        for i, (x, y) in enumerate([(121.405, 31.305), (121.425, 31.315), (121.415, 31.315)], 1):
            copy.write_row((f"31011301010000{i:02d}", "01", "01", POINT.format(x, y)))
    got = grid_district.execute("SELECT unit_grid_code FROM components ORDER BY id").fetchall()
    assert [r[0] for r in got] == ["310113003001001", "310113004001001", "310113003002002"]


def _components_file(tmp_path, rows: list[tuple[str, float, float, str | None]]):
    feats = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
              "properties": {"标识码": cid, "名称": "井盖", **({"所在单元网格": grid} if grid else {})}}
             for cid, x, y, grid in rows]
    path = tmp_path / "components.geojson"
    path.write_bytes(orjson.dumps({"type": "FeatureCollection", "features": feats}))
    return path


def test_import_assigns_and_rejects(grid_district: psycopg.Connection, tmp_path) -> None:
    from gis.errors import ImportRejected
    from gis.io.load import import_file

    good = _components_file(tmp_path, [("3101130101000001", 121.405, 31.305, None),
                                       ("3101130101000002", 121.435, 31.315, "310113004001002")])
    import_file(grid_district, "components", good, crs="EPSG:4490")
    got = grid_district.execute("SELECT id, unit_grid_code FROM components ORDER BY id").fetchall()
    assert got == [("3101130101000001", "310113003001001"), ("3101130101000002", "310113004001002")]
    bad = _components_file(tmp_path, [("3101130101000003", 121.405, 31.305, "310113004001001")])
    with pytest.raises(ImportRejected) as err:
        import_file(grid_district, "components", bad, crs="EPSG:4490")
    text = str(err.value.rows)
    assert "310113004001001" in text and "310113003001001" in text
    assert grid_district.execute("SELECT count(*) FROM components").fetchone()[0] == 2
