"""Codes of every kind, good and bad: parsing (pure), validation against PostGIS, safe allocation."""

from __future__ import annotations

import threading

import psycopg
import pytest
from grid_fixtures import box

from gis import codes
from gis.errors import InvalidCode


@pytest.mark.parametrize("code, kinds", [
    ("310113", ["district"]),
    ("310113003", ["street"]),
    ("310113003001", ["community", "eval_grid"]),
    ("310113003001005", ["unit_grid"]),
    ("3209040101", ["component_type", "event_type"]),
    ("3209040601", ["event_type"]),            # 大类 06 exists only for events
    ("3209040101000123", ["component"]),
])
def test_parse_every_kind(code: str, kinds: list[str]) -> None:
    assert [p.kind for p in codes.parse(code)] == kinds


def test_parse_gives_segments() -> None:
    (p,) = codes.parse("310113003001005")
    assert [(s.name, s.value) for s in p.segments] == [
        ("district", "310113"), ("street", "003"), ("community", "001"), ("sequence", "005")]
    (c,) = codes.parse("3209040101000123")
    assert [(s.name, s.value) for s in c.segments] == [
        ("district", "320904"), ("major", "01"), ("minor", "01"), ("sequence", "000123")]
    assert c.segments[1].label == "公用设施"


@pytest.mark.parametrize("code, fragment", [
    ("31011", "5 digits"),
    ("31011300300100x", "'x'"),
    ("３１０１１３", "digits only"),           # full-width digits are not code digits
    ("990113", "province 99"),
    ("310113000", "street segment 000"),
    ("310113003000", "is zero"),
    ("310113003001000", "sequence segment 000"),
    ("3101130701", "major segment 07"),
    ("3101130100", "minor segment 00"),
    ("3101130601000001", "major segment 06"),  # components have no 大类 06
    ("3101130101000000", "sequence segment 000000"),
    ("", "empty"),
])
def test_parse_rejects_naming_the_segment(code: str, fragment: str) -> None:
    with pytest.raises(InvalidCode) as err:
        codes.parse(code)
    assert fragment in err.value.detail


def test_leading_zeros_are_kept() -> None:
    (p,) = codes.parse("110101003001005")
    assert p.segment("district") == "110101" and p.code.startswith("11")



def test_validate_names_segments(grid_district: psycopg.Connection) -> None:
    (p,) = codes.validate(grid_district, "310113003001002")
    assert p.kind == "unit_grid" and p.exists and p.name == "单元网格002"
    labels = {s.name: s.label for s in p.segments}
    assert labels == {"district": "宝山区", "street": "吴淞街道", "community": "南社区", "sequence": None}
    assert p.extra["eval_grid"] == "310113003001"


def test_validate_missing_parent_names_segment(grid_district: psycopg.Connection) -> None:
    with pytest.raises(InvalidCode, match="street segment 999 of 310113999001005 does not exist"):
        codes.validate(grid_district, "310113999001005")
    with pytest.raises(InvalidCode, match="community segment 009 of 310113003009001 does not exist"):
        codes.validate(grid_district, "310113003009001")
    with pytest.raises(InvalidCode, match="district segment 320904 of 320904001 does not exist"):
        codes.validate(grid_district, "320904001")


def test_validate_new_code_under_existing_parents(grid_district: psycopg.Connection) -> None:
    (p,) = codes.validate(grid_district, "310113003001099")
    assert p.exists is False and p.kind == "unit_grid"


def test_twelve_digits_answer_both_or_decide_by_what_exists(grid_district: psycopg.Connection) -> None:
    both = codes.validate(grid_district, "310113003001")        # community and evaluation grid both stored
    assert [p.kind for p in both] == ["community", "eval_grid"]
    assert both[1].extra["area_class"] == "A"
    only_comm = codes.validate(grid_district, "310113003002")  # a community, no such evaluation grid
    assert [p.kind for p in only_comm] == ["community"]
    neither = codes.validate(grid_district, "310113003077")    # neither stored, both possible
    assert [p.kind for p in neither] == ["community", "eval_grid"]
    assert [p.kind for p in codes.validate(grid_district, "310113003001", "eval_grid")] == ["eval_grid"]


def test_category_codes_against_the_table(grid_district: psycopg.Connection) -> None:
    kinds = [p.kind for p in codes.validate(grid_district, "3101130101")]
    assert kinds == ["component_type", "event_type"]
    (ct, _) = codes.validate(grid_district, "3101130101")
    assert ct.name == "上水井盖"
    with pytest.raises(InvalidCode, match="minor segment 77 of 3101130177 is not a"):
        codes.validate(grid_district, "3101130177")


def test_component_id(grid_district: psycopg.Connection) -> None:
    grid_district.execute("INSERT INTO components (id, major, minor, name, geom) VALUES "
                          "('3101130101000123', '01', '01', '井盖', 'SRID=4490;POINT(121.405 31.305)')")
    (p,) = codes.validate(grid_district, "3101130101000123")
    assert p.exists and p.extra["unit_grid"] == "310113003001001"
    assert {s.name: s.label for s in p.segments}["minor"] == "上水井盖"
    with pytest.raises(InvalidCode, match="district segment 320904"):
        codes.validate(grid_district, "3209040101000123")


def test_parent_must_contain_geometry(grid_district: psycopg.Connection) -> None:
    geom = grid_district.execute("SELECT ST_AsBinary(ST_GeomFromEWKT(%s))", (box(121.401, 31.301, 121.402, 31.302),)
                                 ).fetchone()[0]
    codes.check_parent_contains(grid_district, "310113003001050", geom)
    with pytest.raises(InvalidCode, match=r"community segment 002 of 310113003002050 disagrees .* 310113003001"):
        codes.check_parent_contains(grid_district, "310113003002050", geom)


def test_build() -> None:
    assert codes.build("unit_grid", "310113003001", 5) == "310113003001005"
    assert codes.build("component", "3101130101", 123) == "3101130101000123"
    with pytest.raises(InvalidCode, match="does not fit"):
        codes.build("eval_grid", "310113003", 1000)


def test_allocation_starts_above_stored_and_is_safe_under_threads(grid_district: psycopg.Connection,
                                                                 database_url: str) -> None:
    parent = "310113004001"          # stored: 001 and 002
    got: list[str] = []
    lock = threading.Lock()
    errors: list[Exception] = []

    def worker() -> None:
        try:
            with psycopg.connect(database_url) as conn:
                for _ in range(10):
                    with conn.transaction():
                        (code,) = codes.allocate(conn, "unit_grid", parent)
                        conn.execute("INSERT INTO unit_grids (code, community_code, geom) VALUES (%s, %s, %s)",
                                     (code, parent, box(121.421, 31.301, 121.4211, 31.3011)))
                    with lock:
                        got.append(code)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(got) == len(set(got)) == 60
    assert sorted(got) == [f"{parent}{i:03d}" for i in range(3, 63)]
    block = codes.allocate(grid_district, "unit_grid", parent, count=3)
    assert block == [f"{parent}{i:03d}" for i in range(63, 66)]
