"""The demo district generator and loader: a small district (scale 0.05) loaded into the throwaway test
database, then its invariants checked in PostGIS."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import psycopg
import pytest
import shapely

from gis.demo.generate import generate
from gis.demo.load import load
from gis.demo.roads import side_of
from gis.errors import InvalidInput

SEED = 20261121
SCALE = 0.05
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dataset():
    return generate(SEED, SCALE)


@pytest.fixture(scope="module")
def loaded(database_url: str, dataset) -> str:
    with psycopg.connect(database_url) as conn:
        load(conn, dataset)
    return database_url


@pytest.fixture
def q(loaded: str):
    with psycopg.connect(loaded, autocommit=True) as conn:
        yield lambda sql, *args: conn.execute(sql, args or None).fetchall()


def test_same_seed_same_data_other_seed_other_data(dataset):
    again = generate(SEED, SCALE)
    assert again.checksum() == dataset.checksum()
    assert generate(SEED + 1, SCALE).checksum() != dataset.checksum()


def test_metadata_says_synthetic(q, dataset):
    (value,), = q("SELECT value FROM dataset_meta WHERE key = 'demo'")
    assert value["synthetic"] is True and value["generator"] == "citygrid demo" and value["seed"] == SEED
    assert value["checksum"] == dataset.checksum()


def test_counts_follow_the_scale(q):
    counts = dict(q("SELECT level, count(*) FROM admin_areas GROUP BY level"))
    assert counts["district"] == 1 and counts["street"] >= 3 and counts["community"] >= 6
    (grids,), = q("SELECT count(*) FROM unit_grids")
    assert 450 <= grids <= 550
    per_major = dict(q("SELECT major, count(*) FROM components WHERE minor < '80' GROUP BY major"))
    assert per_major == {"01": round(90_498 * SCALE), "02": round(6_787 * SCALE), "03": round(5_716 * SCALE),
                         "04": round(26_485 * SCALE), "05": round(279 * SCALE)}
    (ext,), = q("SELECT count(*) FROM components WHERE minor >= '80'")
    assert ext == round(8_897 * SCALE)
    (plates,), = q("SELECT count(*) FROM doorplates")
    assert plates == round(30_000 * SCALE)
    (cases,), (days,) = q("SELECT count(*) FROM cases"), q("SELECT max(reported_at)::date - min(reported_at)::date "
                                                           "FROM cases")
    assert days[0] > 1080 and 0.8 * 100 * SCALE * 1096 < cases[0] < 1.2 * 100 * SCALE * 1096


def test_unit_grids_tile_each_community_exactly(q):
    rows = q("""SELECT a.code, ST_Area(a.geom), ST_Area(ST_Union(u.geom)), sum(ST_Area(u.geom)),
                       bool_and(ST_CoveredBy(u.geom, a.geom)), bool_and(ST_IsValid(u.geom))
                FROM admin_areas a JOIN unit_grids u ON u.community_code = a.code
                WHERE a.level = 'community' GROUP BY a.code, a.geom""")
    (n_comm,), = q("SELECT count(*) FROM admin_areas WHERE level = 'community'")
    assert len(rows) == n_comm
    for code, area, union_area, sum_area, covered, valid in rows:
        assert union_area == pytest.approx(area, rel=1e-9), f"gap in {code}"
        assert sum_area == pytest.approx(union_area, rel=1e-9), f"overlap in {code}"
        assert covered and valid
    # Streets and the district are the unions of their children, too.
    (bad,), = q("""SELECT count(*) FROM admin_areas p
                   JOIN (SELECT parent_code, ST_Union(geom) g FROM admin_areas WHERE parent_code IS NOT NULL
                         GROUP BY parent_code) c ON c.parent_code = p.code
                   WHERE abs(ST_Area(p.geom) - ST_Area(c.g)) > 1e-9 * ST_Area(p.geom)""")
    assert bad == 0


def test_codes_have_the_right_shape_and_prefixes(q):
    assert q("SELECT count(*) FROM admin_areas WHERE level = 'street' AND code !~ '^310113[0-9]{3}$'")[0][0] == 0
    assert q("SELECT count(*) FROM unit_grids WHERE code !~ '^310113[0-9]{9}$' OR left(code, 12) <> community_code"
             )[0][0] == 0
    assert q("SELECT count(*) FROM unit_grids u JOIN admin_areas a ON a.code = u.community_code "
             "WHERE a.level <> 'community'")[0][0] == 0
    assert q("SELECT count(*) FROM components WHERE id !~ '^310113(0[1-5])[0-9]{2}[0-9]{6}$' "
             "OR substr(id, 7, 2) <> major OR substr(id, 9, 2) <> minor")[0][0] == 0
    # Sequences run per type from 000001 without gaps.
    assert q("""SELECT count(*) FROM (SELECT major, minor, count(*) n, max(right(id, 6)::int) m
                FROM components GROUP BY major, minor) t WHERE n <> m""")[0][0] == 0


def test_components_and_cases_lie_in_their_unit_grid(q):
    for table in ("components", "cases", "waste_facilities"):
        (missing,), = q(f"SELECT count(*) FROM {table} WHERE unit_grid_code IS NULL")
        (outside,), = q(f"SELECT count(*) FROM {table} t JOIN unit_grids u ON u.code = t.unit_grid_code "
                        "WHERE NOT ST_Intersects(u.geom, t.geom)")
        assert missing == 0 and outside == 0, table


def test_doorplates_stand_on_the_side_their_parity_says_and_where_interpolation_puts_them(q):
    rows = q("""SELECT d.house_num, ST_X(d.geom), ST_Y(d.geom), s.geom::text, s.s_housenum, s.l_housenum,
                       ST_Distance(d.geom::geography, ST_LineInterpolatePoint(s.geom,
                           (d.house_num - s.s_housenum)::float / (s.l_housenum - s.s_housenum))::geography)
                FROM doorplates d JOIN streets s ON s.id = d.street_id
                WHERE d.lane IS NULL AND d.building IS NULL""")
    assert len(rows) > 500
    nums = np.array([r[0] for r in rows])
    lines = shapely.from_wkb(np.array([bytes.fromhex(r[3]) for r in rows], dtype=object))
    side = side_of(lines, np.array([r[1] for r in rows]), np.array([r[2] for r in rows]))
    assert np.all(side[nums % 2 == 1] == 1), "odd numbers must be on the left"
    assert np.all(side[nums % 2 == 0] == -1), "even numbers must be on the right"
    assert all(r[4] <= r[0] <= r[5] for r in rows)
    dist = np.array([r[6] for r in rows])
    assert dist.min() > 9 and dist.max() < 21


def test_plate_texts_lanes_and_buildings(q):
    rows = q("SELECT add_name, road_name, house_name, house_num, lane, building, zone_name, commu_code FROM doorplates")
    assert all(r[7] is not None for r in rows)
    street = [r for r in rows if r[4] is None and r[5] is None]
    lanes = [r for r in rows if r[4]]
    buildings = [r for r in rows if r[5]]
    assert street and lanes and buildings
    for add, road, house, num, *_ in street:
        assert add == f"{road}{num}号" and house == f"{num}号"
    for add, road, house, num, lane, _, zone, _ in lanes:
        assert re.fullmatch(r"\d+弄(\d+支弄)?\d+号", house) and add == road + house
        assert lane.startswith(f"{num}弄") and zone
    for add, _, house, num, _, building, zone, _ in buildings:
        assert add == f"{zone}{building}" == f"{zone}{house}" and re.fullmatch(r"\d+号楼", building) and num is None
    # Lanes are street records too, and no road number is used twice.
    assert q("SELECT count(*) FROM streets WHERE name ~ '\\d+弄$'")[0][0] > 0
    (dupes,), = q("SELECT count(*) FROM (SELECT add_name FROM doorplates GROUP BY 1 HAVING count(*) > 1) t")
    assert dupes == 0


def test_house_number_ranges_continue_along_each_road(q):
    rows = q("SELECT name, s_housenum, l_housenum FROM streets WHERE name !~ '弄$' ORDER BY name, s_housenum")
    by_road: dict[str, list[tuple[int, int]]] = {}
    for name, s, l_ in rows:
        by_road.setdefault(name, []).append((s, l_))
    for name, ranges in by_road.items():
        assert ranges[0][0] == 1, name
        for (_, l0), (s1, _) in itertools.pairwise(ranges):
            assert s1 == l0 + 1, name
    (touching,), = q("""SELECT count(*) FROM streets a
                        JOIN streets b ON a.name = b.name AND a.l_housenum + 1 = b.s_housenum
                        WHERE NOT ST_Equals(ST_EndPoint(a.geom), ST_StartPoint(b.geom))""")
    assert touching == 0


def test_zones_lie_inside_their_community(q):
    (n,), = q("SELECT count(*) FROM zones")
    assert n == 20
    (outside,), = q("SELECT count(*) FROM zones z JOIN admin_areas a ON a.code = z.commu_code "
                    "WHERE NOT ST_CoveredBy(z.geom, a.geom)")
    assert outside == 0


def test_fleet_tracks_and_routes(q, dataset):
    (day,) = q("SELECT value->>'tracks_day' FROM dataset_meta")[0]
    rows = q("""SELECT v.kind, count(DISTINCT p.vehicle_id), min((p.ts AT TIME ZONE 'Asia/Shanghai')::date)::text,
                       max((p.ts AT TIME ZONE 'Asia/Shanghai')::date)::text
                FROM positions p JOIN vehicles v ON v.id = p.vehicle_id GROUP BY v.kind""")
    kinds = {r[0] for r in rows}
    assert {"household_waste", "kitchen_waste", "muck"} <= kinds
    assert all(r[2] == day and r[3] == day for r in rows)
    # Fixes every 30 s while driving, within the district's reach.
    (gap,), = q("""SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY dt) FROM (
                     SELECT extract(epoch FROM ts - lag(ts) OVER (PARTITION BY vehicle_id ORDER BY ts)) dt
                     FROM positions) t WHERE dt IS NOT NULL""")
    assert gap == 30
    (far,), = q("SELECT count(*) FROM positions p, admin_areas a WHERE a.level = 'district' "
                "AND ST_Distance(p.geom::geography, a.geom::geography) > 100")
    assert far == 0
    routes = q("SELECT r.stops, v.kind FROM routes r JOIN vehicles v ON v.id = r.vehicle_id")
    n_collection = q("SELECT count(*) FROM vehicles WHERE kind IN ('household_waste', 'kitchen_waste')")[0][0]
    assert len(routes) == n_collection
    for stops, _ in routes:
        assert stops and all(s["windows"] and {"name", "lon", "lat"} <= set(s) for s in stops)
    # The household trucks visit their drop points: a fix within 30 m of most stops.
    (visited, total), = q("""SELECT count(*) FILTER (WHERE hit), count(*) FROM (
                               SELECT EXISTS (SELECT 1 FROM positions p WHERE p.vehicle_id = r.vehicle_id
                                   AND ST_DWithin(p.geom::geography, ST_Point((s->>'lon')::float,
                                       (s->>'lat')::float, 4490)::geography, 30)) hit
                               FROM routes r, jsonb_array_elements(r.stops) s) t""")
    assert visited >= total - 1


def test_supervisors_phones_are_on_post_except_the_listed_staff_faults(loaded: str, q):
    """跨网格/脱岗 shows something on the demo: each phone belongs to a supervisor who holds responsibility
    grids; over the default shift one walked into a neighbour's grid and one never reported."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from gis.grids.responsibility import on_post

    (faults, day), = q("SELECT value->'staff_faults', (value->>'tracks_day')::date FROM dataset_meta")
    expected = {f["vehicle"]: {"off post (跨网格)": "off_post", "absent (脱岗)": "absent"}[f["fault"]]
                for f in faults}
    assert sorted(expected.values()) == ["absent", "off_post"]
    start = datetime.combine(day, time(8), ZoneInfo("Asia/Shanghai"))
    with psycopg.connect(loaded) as conn:
        staff = on_post(conn, start, start + timedelta(hours=10))["staff"]
    phones = {s["vehicle_id"]: s for s in staff if s["kind"] == "phone"}
    assert len(phones) >= 3 and set(expected) <= set(phones)
    assert {v: s["status"] for v, s in phones.items()} == {v: expected.get(v, "on_post") for v in phones}
    wanderer = next(v for v, st in expected.items() if st == "off_post")
    (into,) = [f["into"] for f in faults if f["vehicle"] == wanderer]
    (inside_other,), = q("""SELECT count(*) FROM positions p JOIN work_grids w ON w.code = %s
                            WHERE p.vehicle_id = %s AND ST_Intersects(w.geom, p.geom)""", into, wanderer)
    assert inside_other >= 60  # ~40 minutes in the other grid, a fix every 30 s
    assert phones[wanderer]["farthest_m"] > 20


def test_collection_trucks_visit_each_stop_within_its_windows_except_the_listed_faults(q):
    (faults, day), = q("SELECT value->'faults', (value->>'tracks_day')::date FROM dataset_meta")
    faulty = {(f["vehicle"], f["round"]) for f in faults}
    rows = q("""WITH w AS (
                  SELECT r.vehicle_id, s->>'name' AS stop, k AS round,
                         ST_Point((s->>'lon')::float, (s->>'lat')::float, 4490)::geography AS g,
                         (%s::date + (win->>'start')::time) AT TIME ZONE 'Asia/Shanghai' AS t0,
                         (%s::date + (win->>'end')::time
                          + CASE WHEN (win->>'end')::time < (win->>'start')::time THEN interval '1 day'
                                 ELSE interval '0' END) AT TIME ZONE 'Asia/Shanghai' AS t1
                  FROM routes r, jsonb_array_elements(r.stops) s,
                       jsonb_array_elements(s->'windows') WITH ORDINALITY AS x(win, k))
                SELECT vehicle_id, round, stop, EXISTS (
                    SELECT 1 FROM positions p WHERE p.vehicle_id = w.vehicle_id AND p.ts BETWEEN t0 AND t1
                      AND ST_DWithin(p.geom::geography, w.g, 30)) FROM w""", day, day)
    assert rows
    missed = {(v, k) for v, k, _, ok in rows if not ok}
    assert missed <= faulty, f"missed without a listed fault: {missed - faulty}"
    assert any(v == "hw002" for v, _ in faulty)
    assert ("hw002", 2) in missed  # the listed skipped stop really is skipped


def test_waste_records_and_facilities(q):
    kinds = dict(q("SELECT kind, count(*) FROM waste_facilities GROUP BY kind"))
    assert kinds["drop_point"] == round(300 * SCALE)
    assert {"transfer_station", "kitchen_waste_plant", "incinerator", "public_toilet"} <= set(kinds)
    (covered,), = q("SELECT count(*) FROM waste_facilities WHERE coverage IS NOT NULL")
    assert covered >= 3
    rows = q("""SELECT count(DISTINCT w.ts::date), bool_and(p.category = 'restaurant'),
                       bool_and(f.kind = 'kitchen_waste_plant'), bool_and(w.tonnes > 0)
                FROM waste_records w JOIN pois p ON p.poi_id = w.source_poi_id
                JOIN waste_facilities f ON f.id = w.facility_id WHERE w.waste_kind = 'kitchen'""")
    days, restaurants, plant, positive = rows[0]
    assert days >= 30 and restaurants and plant and positive


def test_loader_supplies_h3_cells_and_fills_the_heat_rollup(q):
    """No back-fill is left for the first heat request; the rollup holds exactly the loaded points."""
    import h3

    for table in ("cases", "waste_records", "components", "pois", "doorplates", "waste_facilities"):
        (missing, n), = q(f"SELECT count(*) FILTER (WHERE h3_cell IS NULL), count(*) FROM {table}")
        assert n > 0 and missing == 0, table
    for cell, lon, lat in q("SELECT h3_cell, ST_X(geom), ST_Y(geom) FROM cases ORDER BY id LIMIT 20"):
        assert cell == h3.api.basic_int.latlng_to_cell(lat, lon, 15)
    for table, weight in (("cases", "weight"), ("waste_records", "tonnes")):
        (n, w), = q(f"SELECT count(*), sum({weight}) FROM {table}")
        (rn, rw), = q("SELECT sum(n), sum(w) FROM heat_rollup WHERE tbl = %s", table)
        assert rn == n and rw == pytest.approx(w), table


def test_eval_grids_have_a_class(q):
    (n, unclassed), = q("SELECT count(*), count(*) FILTER (WHERE area_class IS NULL) FROM eval_grids")
    assert n > 0 and unclassed == 0


def test_reload_replaces_and_if_empty_skips(loaded, dataset):
    env = {**os.environ, "DATABASE_URL": loaded}
    before = _counts(loaded)
    out = subprocess.run([sys.executable, "-c", "from gis.cli import main; main()", "demo", "load", "--if-empty",
                          "--scale", str(SCALE)], env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "nothing loaded" in out.stdout
    assert _counts(loaded) == before
    with psycopg.connect(loaded) as conn:  # a second load replaces, never duplicates
        load(conn, dataset)
    assert _counts(loaded) == before


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("admin_areas", "unit_grids", "components", "doorplates", "cases", "positions")}


def test_bad_scale_is_refused():
    with pytest.raises(InvalidInput, match="scale"):
        generate(SEED, 0.0)


def test_committed_sample_is_one_communitys_unit_grids():
    files = list((ROOT / "data" / "grids").glob("*_unit_grids.geojson"))
    assert files
    fc = json.loads(files[0].read_text(encoding="utf-8"))
    codes = [f["properties"]["AddID"] for f in fc["features"]]
    assert len(codes) > 100 and len({c[:12] for c in codes}) == 1
    assert all(re.fullmatch(r"310113\d{9}", c) for c in codes)
    geoms = shapely.from_geojson([json.dumps(f["geometry"]) for f in fc["features"]])
    assert shapely.is_valid(geoms).all()
    union = shapely.coverage_union_all(geoms)
    assert union.area == pytest.approx(shapely.area(geoms).sum(), rel=1e-9)


def test_managed_layers_and_the_planted_muck_violations(q):
    (m,), = q("SELECT value->'managed' FROM dataset_meta WHERE key = 'demo'")
    (shops, placed, street), = q("SELECT count(*), count(*) FILTER (WHERE match_level = 'doorplate'), "
                                 "count(DISTINCT street_code) FROM shops")
    assert shops == placed == m["shops"]["shops"] == 10_000 and street == 1
    assert q("SELECT count(*) FROM shop_collections")[0][0] == m["shops"]["collections"] > 0
    planted = [(p["vehicle_id"], p["kind"]) for p in m["muck"]["planted"]]
    got = q("SELECT vehicle_id, kind FROM alarms WHERE vehicle_id LIKE 'ZT%%' ORDER BY vehicle_id")
    assert got == planted          # each planted violation once, nothing on the three clean trips
    assert {r[0] for r in q("SELECT kind FROM cw_sites")} == {"construction_site", "disposal_site", "wharf",
                                                              "transfer_yard", "parking"}
    assert q("SELECT count(DISTINCT kind) FROM eval_sample_points")[0][0] == 14


def test_default_scenes_are_added_and_name_layers_the_map_has(loaded: str, q):
    """The district starts with one scene per department (场景 menu not empty); every layer a default
    scene names is a layer of the map's style, so a renamed layer breaks this test, not the menu."""
    from gis import scenes

    shipped = json.loads(scenes.DEFAULTS.read_text(encoding="utf-8"))
    stored = {slug: (name, spec) for slug, name, spec in q("SELECT slug, name, spec FROM scenes")}
    assert {s["slug"] for s in shipped} <= set(stored)
    style = json.loads((ROOT / "styles" / "layers.json").read_text(encoding="utf-8"))
    for s in shipped:
        assert stored[s["slug"]] == (s["name"], s["spec"])
        assert s["spec"]["layers"] and set(s["spec"]["layers"]) <= set(style["layers"]), s["slug"]
    # a scene whose slug is taken is left as it is: adding the defaults again adds nothing
    with psycopg.connect(loaded, autocommit=True) as conn:
        conn.execute("UPDATE scenes SET name = '环卫（本街道）' WHERE slug = 'sanitation'")
        assert scenes.add_defaults(conn) == 0
    assert q("SELECT name FROM scenes WHERE slug = 'sanitation'") == [("环卫（本街道）",)]
