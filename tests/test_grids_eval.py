"""Evaluation grids from whole unit grids (contiguous, 0.5–3 km², stable) and the seeded, audited sample."""

from __future__ import annotations

import psycopg
import pytest
import shapely
from grid_fixtures import box, load_district

from gis.errors import InvalidInput
from gis.grids import evaluation, sampling

CELL = 0.002   # ≈ 190 m × 222 m ≈ 0.042 km² at 31.3°N


def load_lattice(db: psycopg.Connection) -> list[str]:
    """Street 310117001: one community of 12 × 8 cells (≈ 4.1 km²); street 310117002: 3 cells apart."""
    db.execute("INSERT INTO admin_areas (code, level, name, geom) VALUES ('310117', 'district', '松江区', %s)",
               (box(121.0, 31.0, 121.1, 31.1),))
    for street, name in (("310117001", "岳阳街道"), ("310117002", "永丰街道")):
        db.execute("INSERT INTO admin_areas (code, level, name, parent_code, geom) VALUES (%s,'street',%s,%s,%s)",
                   (street, name, street[:6], box(121.0, 31.0, 121.1, 31.1)))
        db.execute("INSERT INTO admin_areas (code, level, name, parent_code, geom) "
                   "VALUES (%s, 'community', %s, %s, %s)", (street + "001", name + "一村", street,
                                                            box(121.0, 31.0, 121.1, 31.1)))
    codes = []
    seq = 0
    for j in range(8):
        for i in range(12):
            seq += 1
            code = f"310117001001{seq:03d}"
            x, y = 121.0 + i * CELL, 31.0 + j * CELL
            db.execute("INSERT INTO unit_grids (code, community_code, geom) VALUES (%s, %s, %s)",
                       (code, code[:12], box(x, y, x + CELL, y + CELL)))
            codes.append(code)
    for k in range(3):
        x = 121.05 + k * CELL
        db.execute("INSERT INTO unit_grids (code, community_code, geom) VALUES (%s, '310117002001', %s)",
                   (f"310117002001{k + 1:03d}", box(x, 31.05, x + CELL, 31.05 + CELL)))
    return codes


def members(db: psycopg.Connection) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for unit, ev in db.execute("SELECT code, eval_code FROM unit_grids ORDER BY code").fetchall():
        out.setdefault(ev, []).append(unit)
    return out


def test_build_rules(clean_db: str, db: psycopg.Connection) -> None:
    load_lattice(db)
    n = evaluation.build_eval_grids(db)
    grids = db.execute("SELECT code, street_code, area_m2, ST_AsBinary(geom), area_class, first_date "
                       "FROM eval_grids ORDER BY code").fetchall()
    assert n == len(grids)
    groups = members(db)
    assert None not in groups                                    # every unit grid belongs to one
    main = [g for g in grids if g[1] == "310117001"]
    assert 2 <= len(main) <= 8
    for code, street, area, wkb, cls, first in main:
        assert code[:9] == street and code[9:] != "000"
        assert 500_000 <= area <= 3_000_000, (code, area)
        assert all(u[:9] == street for u in groups[code])        # whole unit grids of the street only
        assert shapely.from_wkb(wkb).geom_type == "Polygon" or len(shapely.get_parts(shapely.from_wkb(wkb))) == 1
        assert cls in ("A", "B", "C") and first is not None
    # The closest to 1 km² a 4.1 km² street allows: about four grids.
    assert sum(abs(g[2] - 1e6) for g in main) / len(main) < 400_000
    # The isolated 3-cell street is one small grid of its own.
    small = [g for g in grids if g[1] == "310117002"]
    assert len(small) == 1 and len(groups[small[0][0]]) == 3


def test_build_is_stable(clean_db: str, db: psycopg.Connection) -> None:
    load_lattice(db)
    evaluation.build_eval_grids(db)
    first = members(db)
    db.execute("UPDATE eval_grids SET area_class = 'C', note = 'kept' WHERE code = '310117001001'")
    version = db.execute("SELECT max(version) FROM grid_changes WHERE layer = 'eval'").fetchone()[0]
    evaluation.build_eval_grids(db)
    assert members(db) == first
    assert db.execute("SELECT area_class, note FROM eval_grids WHERE code = '310117001001'").fetchone() == ("C", "kept")
    # Nothing changed, so nothing was written (mobile clients see no change either).
    assert db.execute("SELECT max(version) FROM grid_changes WHERE layer = 'eval'").fetchone()[0] == version


def test_build_one_street_only(clean_db: str, db: psycopg.Connection) -> None:
    load_lattice(db)
    assert evaluation.build_eval_grids(db, ["310117002"]) == 1
    assert db.execute("SELECT count(*) FROM unit_grids WHERE eval_code IS NULL").fetchone()[0] == 96
    with pytest.raises(InvalidInput, match="9 digits"):
        evaluation.build_eval_grids(db, ["3101"])


# -- sampling --------------------------------------------------------------------------------------


def load_typed_evals(db: psycopg.Connection, classes: str) -> None:
    load_district(db, evals=False, works=False)
    for k, cls in enumerate(classes, 1):
        x = 121.40 + (k - 1) * 0.001
        db.execute("INSERT INTO eval_grids (code, street_code, name, area_class, geom) VALUES (%s,%s,%s,%s,%s)",
                   (f"310113003{k:03d}", "310113003", f"评价网格{k}", cls, box(x, 31.30, x + 0.001, 31.301)))


@pytest.mark.parametrize("city_class, counts", [(1, (3, 2, 3)), (2, (2, 2, 2)), (3, (2, 1, 2))])
def test_sample_counts(clean_db: str, db: psycopg.Connection, city_class: int, counts: tuple) -> None:
    load_typed_evals(db, "AAAABBBCCCC")
    result = sampling.draw_sample(db, city_class, 42, "inspector-1")
    types = [g["area_class"] for g in result["grids"]]
    assert (types.count("A"), types.count("B"), types.count("C")) == counts
    assert len(set(g["code"] for g in result["grids"])) == sum(counts)
    assert all(g["geometry"]["type"] in ("Polygon", "MultiPolygon") for g in result["grids"])


def test_sample_reproducible_and_recorded(clean_db: str, db: psycopg.Connection) -> None:
    load_typed_evals(db, "AAAAAABBBBBCCCCCC")
    a = sampling.draw_sample(db, 1, 20261121, "alice")
    b = sampling.draw_sample(db, 1, 20261121, "bob")
    c = sampling.draw_sample(db, 1, 7, "alice")
    codes = [[g["code"] for g in r["grids"]] for r in (a, b, c)]
    assert codes[0] == codes[1]
    assert codes[0] != codes[2]
    rows = db.execute("SELECT actor, city_class, seed, result FROM eval_draws ORDER BY id").fetchall()
    assert [(r[0], r[1], r[2]) for r in rows] == [("alice", 1, 20261121), ("bob", 1, 20261121), ("alice", 1, 7)]
    assert [g["code"] for g in rows[0][3]["grids"]] == codes[0]
    assert rows[0][3]["pool_sha256"] == rows[1][3]["pool_sha256"]
    assert sampling.list_draws(db)[0]["seed"] == 7


def test_sample_refuses_short_types(clean_db: str, db: psycopg.Connection) -> None:
    load_typed_evals(db, "AAABBC")
    with pytest.raises(InvalidInput, match=r"city class 1 needs 3 A \+ 2 B \+ 3 C .*cannot draw 3 C \(only 1"):
        sampling.draw_sample(db, 1, 1, "x")
    assert db.execute("SELECT count(*) FROM eval_draws").fetchone()[0] == 0
    with pytest.raises(InvalidInput, match="city_class must be 1, 2 or 3"):
        sampling.draw_sample(db, 4, 1, "x")


def test_area_classes_import(clean_db: str, db: psycopg.Connection) -> None:
    load_typed_evals(db, "AB")
    evaluation.set_area_classes(db, {"310113003001": "C"})
    assert db.execute("SELECT area_class FROM eval_grids WHERE code = '310113003001'").fetchone()[0] == "C"
    with pytest.raises(InvalidInput, match="A, B or C"):
        evaluation.set_area_classes(db, {"310113003001": "D"})
    with pytest.raises(InvalidInput, match="no evaluation grid 310113003999"):
        evaluation.set_area_classes(db, {"310113003999": "A"})
