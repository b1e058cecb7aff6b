"""Topology check: every defect kind on crafted grids, the clean case, and the CLI's exit code."""

from __future__ import annotations

import numpy as np
import orjson
import psycopg
import pytest
import shapely
from grid_fixtures import COMMUNITIES, UNITS, box, load_district
from typer.testing import CliRunner

from gis.grids import topology

COMM_CODES = [c[0] for c in COMMUNITIES]
COMM_GEOMS = np.array([shapely.from_wkt(c[2].split(";", 1)[1]) for c in COMMUNITIES], dtype=object)


def run(units: dict[str, tuple[float, float, float, float] | shapely.Geometry],
        extra: list[tuple[str, shapely.Geometry]] = ()) -> topology.Report:
    codes = list(units) + [c for c, _ in extra]
    geoms = [g if isinstance(g, shapely.Geometry) else shapely.box(*g) for g in units.values()] + [g for _, g in extra]
    return topology.check(codes, np.array(geoms, dtype=object), COMM_CODES, COMM_GEOMS)


def kinds(report: topology.Report) -> list[str]:
    return sorted(p["properties"]["kind"] for p in report.problems)


def test_clean_tiling_has_no_problems() -> None:
    report = run(dict(UNITS))
    assert report.ok, report.problems
    assert report.summary()["problems"] == 0 and report.summary()["unit_grids"] == 6


def test_overlap() -> None:
    units = dict(UNITS)
    units["310113003001002"] = (121.409, 31.30, 121.42, 31.31)        # 0.001° into its neighbour
    report = run(units)
    assert kinds(report) == ["overlap"]
    p = report.problems[0]["properties"]
    assert p["codes"] == ["310113003001001", "310113003001002"]
    assert 100_000 < p["area_m2"] < 110_000                           # ≈ 95 m × 1109 m


def test_gap() -> None:
    units = dict(UNITS)
    units["310113003001002"] = (121.412, 31.30, 121.42, 31.31)        # leaves a 0.002° strip uncovered
    report = run(units)
    assert kinds(report) == ["gap"]
    assert report.problems[0]["properties"]["codes"] == ["310113003001"]
    assert report.problems[0]["geometry"]["type"] == "Polygon"


def test_slivers() -> None:
    units = dict(UNITS)
    units["310113003001002"] = (121.4100001, 31.30, 121.42, 31.31)   # a 1 cm gap along an edge
    units["310113004001002"] = (121.4299999, 31.30, 121.44, 31.32)   # a 1 cm overlap along another
    report = run(units)
    assert kinds(report) == ["sliver", "sliver"]
    details = " ".join(p["properties"]["detail"] for p in report.problems)
    assert "sliver gap" in details and "sliver overlap" in details


def test_crosses_community() -> None:
    units = dict(UNITS)
    units["310113003001001"] = (121.40, 31.30, 121.41, 31.312)        # pokes into the north community
    units["310113003002001"] = (121.40, 31.312, 121.41, 31.32)
    report = run(units)
    assert "crosses_community" in kinds(report)
    p = next(p for p in report.problems if p["properties"]["kind"] == "crosses_community")["properties"]
    assert p["codes"] == ["310113003001001", "310113003001"]
    assert kinds(report) == ["crosses_community"]     # the strip is covered (by the wrong grid): no gap


def test_outside_community() -> None:
    report = run(dict(UNITS), [("310113003001009", shapely.box(121.5, 31.5, 121.51, 31.51))])
    assert kinds(report) == ["outside_community"]


def test_duplicate_code() -> None:
    report = run(dict(UNITS), [("310113004001002", shapely.box(121.43, 31.30, 121.44, 31.32))])
    assert "duplicate_code" in kinds(report)
    dup = next(p for p in report.problems if p["properties"]["kind"] == "duplicate_code")
    assert dup["properties"]["codes"] == ["310113004001002"]


def test_prefix_mismatch() -> None:
    units = dict(UNITS)
    units["310113003002009"] = units.pop("310113003001002")          # coded for the north, lies in the south
    report = run(units)
    assert kinds(report) == ["prefix_mismatch"]
    assert report.problems[0]["properties"]["codes"] == ["310113003002009", "310113003001"]


def test_database_check_and_cli(clean_db: str, db: psycopg.Connection, tmp_path) -> None:
    from gis.cli import create_app

    app = create_app()
    load_district(db)
    runner = CliRunner()
    ok = runner.invoke(app, ["grids", "check"])
    assert ok.exit_code == 0, ok.output
    assert topology.check_database(db).ok
    db.execute("UPDATE unit_grids SET geom = %s WHERE code = '310113004001002'", (box(121.429, 31.30, 121.44, 31.32),))
    out = tmp_path / "problems.geojson"
    bad = runner.invoke(app, ["grids", "check", "--out", str(out)])
    assert bad.exit_code == 1
    data = orjson.loads(out.read_bytes())
    assert data["type"] == "FeatureCollection" and data["summary"]["by_kind"]["overlap"] == 1
    assert "overlap: unit grids 310113004001001 and 310113004001002 overlap" in bad.output


@pytest.mark.parametrize("level", ["street"])
def test_cli_census_and_build(clean_db: str, db: psycopg.Connection, level: str) -> None:
    from gis.cli import create_app

    app = create_app()
    load_district(db, evals=False)
    runner = CliRunner()
    res = runner.invoke(app, ["grids", "census", "--level", level, "--json"])
    assert res.exit_code == 0, res.output
    assert [r["code"] for r in orjson.loads(res.output)] == ["310113003", "310113004"]
    res = runner.invoke(app, ["grids", "build-eval"])
    assert res.exit_code == 0 and "6 evaluation grids" in res.output   # each unit grid is ≥ 1 km² here
