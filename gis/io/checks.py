"""The set-based checks of an import, run in SQL over the staging table `_import_stage`.

Each check is a condition and a message; all of them run in ONE scan of the staging table (an array of
CASE expressions per row) and one UPDATE of the rows caught, so every row gets every reason that
applies. Code checks name the segment at fault (standards.md §1): "street segment 099 of 310113099001:
street 310113099 does not exist …".
Parents may be in the database or in the same file (regions: a file of districts, streets and communities
loads in one go).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from gis.io.layers import Field, LayerSpec

STAGE = "_import_stage"


@dataclass(frozen=True)
class Check:
    where: str      # SQL condition over the staging row `s`
    message: str    # SQL text expression (format(...)) giving the reason
    #: staging columns the check cannot fire without: `where` is NULL or false when one of them is NULL
    #: (its first conjunct tests the column). A one-feature write leaves the check out of its statement
    #: when one is NULL: a subplan fewer for PostgreSQL to set up on every POST (gis/io/write.py).
    needs: tuple[str, ...] = ()


# -- building blocks -------------------------------------------------------------------------------


def _digits(col: str, n: int, label: str, what: str) -> Check:
    return Check(f"s.{col} IS NOT NULL AND s.{col} !~ '^[0-9]{{{n}}}$'",
                 f"format('{label} %s must be {n} digits ({what})', s.{col})", (col,))


_LEVEL_SEGMENT = """CASE
    WHEN NOT EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = left({c}, 6))
        THEN format('district segment %s of %s: district %s does not exist', left({c}, 6), {c}, left({c}, 6))
    WHEN NOT EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = left({c}, 9))
        THEN format('street segment %s of %s: street %s does not exist', substr({c}, 7, 3), {c}, left({c}, 9))
    ELSE format('community segment %s of %s: community %s does not exist', substr({c}, 10, 3), {c}, left({c}, 12))
END"""


def _unit_grid(col: str, ident: str, noun: str) -> list[Check]:
    """A given unit-grid code must exist and be the grid containing the point (smallest code on ties,
    the rule of the assignment trigger)."""
    return [
        _digits(col, 15, col, "community 12 + sequence 3"),
        Check(f"s.{col} ~ '^[0-9]{{15}}$' AND NOT EXISTS (SELECT 1 FROM unit_grids g WHERE g.code = s.{col})",
              f"format('unit grid %s does not exist', s.{col})", (col,)),
        Check(f"""s.{col} ~ '^[0-9]{{15}}$' AND s.geom IS NOT NULL
                 AND EXISTS (SELECT 1 FROM unit_grids g WHERE g.code = s.{col})
                 AND s.{col} IS DISTINCT FROM (SELECT min(g.code) FROM unit_grids g
                                               WHERE ST_Intersects(g.geom, s.geom))""",
              f"""format('unit grid %s given for {noun} %s but its position lies in %s', s.{col}, s.{ident},
                 coalesce((SELECT min(g.code) FROM unit_grids g WHERE ST_Intersects(g.geom, s.geom)),
                          'no unit grid'))""", (col, "geom")),
    ]


# -- named checks (the catalog's fields and layers name them) ----------------------------------------


def _region_tree(f: Field, spec: LayerSpec) -> list[Check]:
    """A region file: codes of 6/9/12 digits whose level, parent and geometry agree (parents may be in the file)."""
    return [
        Check("s.code IS NOT NULL AND s.code !~ '^[0-9]+$'",
              "format('AddID %s has characters other than digits', s.code)"),
        Check("s.code ~ '^[0-9]{15}$'",
              "format('AddID %s has 15 digits: that is a unit grid code, import it as layer unit_grids', s.code)"),
        Check("s.code ~ '^[0-9]+$' AND length(s.code) NOT IN (6, 9, 12, 15)",
              "format('AddID %s has %s digits: a region code has 6 (district), 9 (street) or 12 (community)',"
              " s.code, length(s.code))"),
        Check("s.code ~ '^([0-9]{6}|[0-9]{9}|[0-9]{12})$' AND s.level IS DISTINCT FROM "
              "(CASE length(s.code) WHEN 6 THEN 'district' WHEN 9 THEN 'street' ELSE 'community' END)",
              "format('level %s disagrees with the %s-digit code %s', s.level, length(s.code), s.code)"),
        Check("s.code ~ '^([0-9]{9}|[0-9]{12})$' "
              "AND s.parent_code IS DISTINCT FROM left(s.code, length(s.code) - 3)",
              "format('parent code %s disagrees with code %s (its parent is %s)', s.parent_code, s.code, "
              "left(s.code, length(s.code) - 3))"),
        Check(f"""s.code ~ '^([0-9]{{9}}|[0-9]{{12}})$'
                 AND NOT EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = left(s.code, length(s.code) - 3))
                 AND NOT EXISTS (SELECT 1 FROM {STAGE} t WHERE t.code = left(s.code, length(s.code) - 3))""",
              """CASE length(s.code) WHEN 9 THEN
                   format('district segment %s of %s: district %s is neither in the database nor in this file',
                          left(s.code, 6), s.code, left(s.code, 6))
                 ELSE format('street segment %s of %s: street %s is neither in the database nor in this file',
                          substr(s.code, 7, 3), s.code, left(s.code, 9)) END"""),
        Check(f"""s.geom IS NOT NULL AND s.code ~ '^([0-9]{{9}}|[0-9]{{12}})$' AND NOT EXISTS (
                    SELECT 1 FROM (SELECT a.geom FROM admin_areas a WHERE a.code = left(s.code, length(s.code) - 3)
                                   UNION ALL
                                   SELECT t.geom FROM {STAGE} t WHERE t.code = left(s.code, length(s.code) - 3)
                                   AND t.geom IS NOT NULL) p
                    WHERE ST_Covers(p.geom, ST_PointOnSurface(s.geom)))
                 AND EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = left(s.code, length(s.code) - 3)
                             UNION ALL SELECT 1 FROM {STAGE} t WHERE t.code = left(s.code, length(s.code) - 3)
                             AND t.geom IS NOT NULL)""",
              "format('%s lies outside its parent %s', s.code, left(s.code, length(s.code) - 3))"),
    ]


def _unit_grid_code(f: Field, spec: LayerSpec) -> list[Check]:
    """A unit grid's own code: 15 digits, inside the community its first 12 digits name."""
    return [
        _digits("code", 15, "unit grid code", "community 12 + sequence 3"),
        Check("s.code ~ '^[0-9]{15}$' AND s.community_code IS DISTINCT FROM left(s.code, 12)",
              "format('community code %s disagrees with the first 12 digits of %s', s.community_code, s.code)"),
        Check("s.code ~ '^[0-9]{15}$' AND NOT EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = left(s.code, 12)"
              " AND a.level = 'community')",
              _LEVEL_SEGMENT.format(c="s.code")),
        Check("""s.geom IS NOT NULL AND s.code ~ '^[0-9]{15}$'
                 AND EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = left(s.code, 12))
                 AND NOT EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = left(s.code, 12)
                                 AND ST_Covers(a.geom, ST_PointOnSurface(s.geom)))""",
              "format('unit grid %s lies outside its community %s', s.code, left(s.code, 12))"),
    ]


def _eval_grid(f: Field, spec: LayerSpec) -> list[Check]:
    col = f.column
    return [
        _digits(col, 12, "evaluation grid code", "district 6 + street 3 + sequence 3"),
        Check(f"s.{col} ~ '^[0-9]{{12}}$' AND NOT EXISTS (SELECT 1 FROM eval_grids e WHERE e.code = s.{col})",
              f"format('evaluation grid %s does not exist', s.{col})"),
    ]


def _eval_grid_code(f: Field, spec: LayerSpec) -> list[Check]:
    """An evaluation grid's own code: 12 digits, in the street its first 9 digits name."""
    return [
        _digits("code", 12, "evaluation grid code", "district 6 + street 3 + sequence 3"),
        Check("s.code ~ '^[0-9]{12}$' AND s.street_code IS DISTINCT FROM left(s.code, 9)",
              "format('street code %s disagrees with the first 9 digits of %s', s.street_code, s.code)"),
        Check("s.code ~ '^[0-9]{12}$' AND NOT EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = left(s.code, 9)"
              " AND a.level = 'street')",
              "CASE WHEN NOT EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = left(s.code, 6)) THEN "
              "format('district segment %s of %s: district %s does not exist', left(s.code, 6), s.code, "
              "left(s.code, 6)) ELSE format('street segment %s of %s: street %s does not exist', "
              "substr(s.code, 7, 3), s.code, left(s.code, 9)) END"),
    ]


def _street(f: Field, spec: LayerSpec) -> list[Check]:
    col, label = f.column, f.message_label
    return [
        _digits(col, 9, label, "district 6 + street 3"),
        Check(f"s.{col} ~ '^[0-9]{{9}}$' AND NOT EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = s.{col})",
              f"""'{label}: ' || CASE WHEN NOT EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = left(s.{col}, 6))
                  THEN format('district segment %s of %s: district %s does not exist', left(s.{col}, 6), s.{col},
                              left(s.{col}, 6))
                  ELSE format('street segment %s of %s: street %s does not exist', substr(s.{col}, 7, 3), s.{col},
                              s.{col}) END"""),
    ]


def _community(f: Field, spec: LayerSpec) -> list[Check]:
    col, label = f.column, f.message_label
    return [
        _digits(col, 12, label, "street 9 + community 3"),
        Check(f"s.{col} ~ '^[0-9]{{12}}$' AND NOT EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = s.{col})",
              f"'{label}: ' || " + _LEVEL_SEGMENT.format(c=f"s.{col}")),
    ]


def _district(f: Field, spec: LayerSpec) -> list[Check]:
    col = f.column
    return [
        _digits(col, 6, f.message_label, "GB/T 2260"),
        Check(f"s.{col} ~ '^[0-9]{{6}}$' AND NOT EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = s.{col})",
              f"format('district %s does not exist', s.{col})"),
    ]


def _unit_grid_field(f: Field, spec: LayerSpec) -> list[Check]:
    return _unit_grid(f.column, spec.layer.label_column or spec.id_column, spec.layer.noun)


def _component_id(f: Field, spec: LayerSpec) -> list[Check]:
    """A 16-digit component id: its type segment agrees with 大类/小类 and names a known class."""
    return [
        _digits("id", 16, "component id", "district 6 + 大类 2 + 小类 2 + sequence 6"),
        Check("s.id ~ '^[0-9]{16}$' AND (s.major IS DISTINCT FROM substr(s.id, 7, 2) "
              "OR s.minor IS DISTINCT FROM substr(s.id, 9, 2))",
              "format('大类/小类 %s/%s disagree with the type segment %s of id %s', s.major, s.minor, "
              "substr(s.id, 7, 4), s.id)"),
        Check("s.id ~ '^[0-9]{16}$' AND NOT EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = left(s.id, 6) "
              "AND a.level = 'district')",
              "format('district segment %s of %s: district %s does not exist', left(s.id, 6), s.id, "
              "left(s.id, 6))"),
        Check("s.id ~ '^[0-9]{16}$' AND NOT EXISTS (SELECT 1 FROM categories c WHERE c.kind = 'component' "
              "AND c.major = substr(s.id, 7, 2)::bpchar AND c.minor = substr(s.id, 9, 2)::bpchar)",
              """CASE WHEN NOT EXISTS (SELECT 1 FROM categories c WHERE c.kind = 'component'
                                       AND c.major = substr(s.id, 7, 2))
                 THEN format('大类 segment %s of %s: no component class %s', substr(s.id, 7, 2), s.id,
                             substr(s.id, 7, 2))
                 ELSE format('小类 segment %s of %s: no component subclass %s/%s in categories',
                             substr(s.id, 9, 2), s.id, substr(s.id, 7, 2), substr(s.id, 9, 2)) END"""),
        Check("s.unit_grid_code ~ '^[0-9]{15}$' AND s.id ~ '^[0-9]{16}$' "
              "AND left(s.unit_grid_code, 6) <> left(s.id, 6)",
              "format('unit grid %s is not in district %s of component %s', s.unit_grid_code, left(s.id, 6), "
              "s.id)"),
    ]


def _case_type(f: Field, spec: LayerSpec) -> list[Check]:
    return [
        Check("s.major !~ '^[0-9]{2}$' OR s.minor !~ '^[0-9]{2}$'",
              "format('大类/小类 %s/%s must be two digits each', s.major, s.minor)"),
        # The codes compared as character(2), the columns' type: a probe of the primary key instead of a
        # scan of every category (as text, the columns would be cast for each row); equal for two digits.
        Check("s.major ~ '^[0-9]{2}$' AND s.minor ~ '^[0-9]{2}$' AND NOT EXISTS (SELECT 1 FROM categories c "
              "WHERE c.kind = coalesce(s.kind, 'event') AND c.major = s.major::bpchar "
              "AND c.minor = s.minor::bpchar)",
              "format('no %s type %s/%s in categories', coalesce(s.kind, 'event'), s.major, s.minor)"),
    ]


def _closed_after_reported(f: Field, spec: LayerSpec) -> list[Check]:
    return [Check("s.closed_at < s.reported_at",
                  "format('closed_at %s is before reported_at %s', s.closed_at, s.reported_at)")]


def _gb28181(f: Field, spec: LayerSpec) -> list[Check]:
    """A GB/T 28181 code: 20 digits = centre 8 (region 6 + unit 2) + industry 2 + type 3 + network 1 +
    sequence 6. The type segment of a device or channel is 111–199 (GB/T 28181-2016 Appendix D: 111–130
    front-end devices such as DVR/NVR, 131–199 cameras, encoders and other channels); 200+ are platforms,
    users and groups, which carry no video of their own. The region segment must be a loaded district
    when districts are loaded."""
    col, label = f.column, f.message_label
    return [
        Check(f"s.{col} IS NOT NULL AND s.{col} !~ '^[0-9]{{20}}$'",
              f"format('{label} %s must be 20 digits (GB/T 28181: centre 8 + industry 2 + type 3 + network 1 "
              f"+ sequence 6), it has %s characters', s.{col}, length(s.{col}))"),
        Check(f"s.{col} ~ '^[0-9]{{20}}$' AND substr(s.{col}, 11, 3)::int NOT BETWEEN 111 AND 199",
              f"format('type segment %s of {label} %s: not a device or channel type (GB/T 28181 111–199)', "
              f"substr(s.{col}, 11, 3), s.{col})"),
        Check(f"s.{col} ~ '^[0-9]{{20}}$' AND EXISTS (SELECT 1 FROM admin_areas a WHERE a.level = 'district') "
              f"AND NOT EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = left(s.{col}, 6))",
              f"format('region segment %s of {label} %s: no such district loaded', left(s.{col}, 6), s.{col})"),
    ]


def _range(col: str, label: str, low: float, high: float, low_open: bool, high_open: bool, unit: str) -> Check:
    lo = f"s.{col} <= {low}" if low_open else f"s.{col} < {low}"
    hi = f"s.{col} >= {high}" if high_open else f"s.{col} > {high}"
    shown = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    return Check(f"s.{col} IS NOT NULL AND ({lo} OR {hi} OR s.{col} = 'NaN'::float8)",
                 f"format('{label} %s is outside {shown} {unit}', s.{col})")


def _direction(f: Field, spec: LayerSpec) -> list[Check]:
    return [_range(f.column, "view direction", 0, 360, False, True, "degrees clockwise from north")]


def _view_angle(f: Field, spec: LayerSpec) -> list[Check]:
    return [_range(f.column, "view angle", 0, 360, True, False, "degrees")]


def _view_range(f: Field, spec: LayerSpec) -> list[Check]:
    return [_range(f.column, "view range", 0, 1000, True, False, "metres")]


FIELD_CHECKS: dict[str, Callable[[Field, LayerSpec], list[Check]]] = {
    "region_tree": _region_tree, "unit_grid_code": _unit_grid_code, "eval_grid_code": _eval_grid_code,
    "eval_grid": _eval_grid, "district": _district, "street": _street, "community": _community,
    "unit_grid": _unit_grid_field, "component_id": _component_id, "case_type": _case_type,
    "closed_after_reported": _closed_after_reported, "gb28181": _gb28181, "direction": _direction,
    "view_angle": _view_angle, "view_range": _view_range,
}

LAYER_CHECKS: dict[str, list[Check]] = {
    "street_in_district": [
        Check("s.district_code IS NOT NULL AND s.street_code IS NOT NULL "
              "AND left(s.street_code, 6) <> s.district_code",
              "format('street code %s is not in district %s', s.street_code, s.district_code)"),
    ],
    "house_range": [
        Check("s.s_housenum > s.l_housenum",
              "format('SHousenum %s is larger than LHousenum %s', s.s_housenum, s.l_housenum)"),
    ],
    "community_in_street": [
        Check("s.commu_code IS NOT NULL AND s.subdis_code IS NOT NULL AND left(s.commu_code, 9) <> s.subdis_code",
              "format('CommuCode %s is not in street %s (SubDisCode)', s.commu_code, s.subdis_code)"),
    ],
}


def layer_checks(spec: LayerSpec, present: set[str]) -> list[Check]:
    """The code, parent and consistency checks the catalog names for `spec`, fields first, in field order."""
    checks: list[Check] = []
    for f in spec.fields:
        for name in f.checks:
            checks += FIELD_CHECKS[name](f, spec)
    for name in spec.io.checks:
        checks += LAYER_CHECKS[name]
    return checks


def _is_region_tree(spec: LayerSpec) -> bool:
    return any("region_tree" in f.checks for f in spec.fields)


def key_checks(spec: LayerSpec, append: bool, *, other_than: str | None = None) -> list[Check]:
    """In append mode, keys already in the database (duplicates within the file are found in memory).

    `other_than` (a staging column holding the stored row's id) leaves that row out: a Part 4 replace
    or update may keep its own key but not take another feature's."""
    if not append:
        return []
    key = spec.key
    shown = " || '/' || ".join(f"s.{k}" for k in key)
    label = "/".join(spec.get_field(k).export_name for k in key)
    not_null = " AND ".join(f"s.{k} IS NOT NULL" for k in key)
    same = " AND ".join(f"d.{k} = s.{k}" for k in key)
    hint = " (append mode; --mode replace reloads the layer)"
    if other_than is not None:
        same += f" AND d.{spec.layer.id_column} IS DISTINCT FROM s.{other_than}"
        hint = " (another feature has it)"
    return [Check(
        f"{not_null} AND EXISTS (SELECT 1 FROM {spec.table} d WHERE {same})",
        f"format('{label} %s is already in the database{hint}', {shown})",
        tuple(key),
    )]


def extent_check(spec: LayerSpec) -> Check | None:
    """Features far outside the loaded districts (> ~10 km beyond their extent) suggest a wrong CRS."""
    if spec.geometry is None or not spec.io.in_district:
        return None
    return Check(
        # Top-level areas only: every other area lies inside its parent (the region_tree check), so their
        # extent is the districts' extent, and reading 1–2 geometries instead of all of them is what
        # makes this check affordable per request for a Part 4 write (5 ms -> 0.3 ms on the demo).
        "s.geom IS NOT NULL AND NOT ST_Intersects(s.geom, (SELECT ST_SetSRID(ST_Expand(ST_Extent(a.geom), 0.1)"
        "::geometry, 4490) FROM admin_areas a WHERE a.parent_code IS NULL))",
        "format('lies outside the loaded district(s) (more than ~10 km beyond their extent, at %s %s): "
        "wrong --crs?', round(ST_X(ST_PointOnSurface(s.geom))::numeric, 6), "
        "round(ST_Y(ST_PointOnSurface(s.geom))::numeric, 6))",
    )


def run(cur: psycopg.Cursor, spec: LayerSpec, present: set[str], append: bool) -> None:
    """All checks in one scan of the staging table: each row collects the reasons of the checks it fails."""
    found = key_checks(spec, append) + layer_checks(spec, present)
    ext = extent_check(spec)
    if ext is not None:
        found.append(ext)
    if not found:
        return
    cases = ",\n".join(f"CASE WHEN {c.where} THEN ({c.message})::text END" for c in found)
    # No parameters: the `%s` of format() must reach the server as written.
    cur.execute(f"""UPDATE {STAGE} u SET reasons = u.reasons || r.found
                    FROM (SELECT s.row_no, array_remove(ARRAY[{cases}], NULL) AS found FROM {STAGE} s) r
                    WHERE r.row_no = u.row_no AND cardinality(r.found) > 0""")


def propagate_rejected_parents(cur: psycopg.Cursor, spec: LayerSpec) -> int:
    """--keep-good, regions: a child whose parent is only in this file and was rejected is rejected too."""
    if not _is_region_tree(spec):
        return 0
    total = 0
    for _ in range(3):
        cur.execute(f"""UPDATE {STAGE} s SET reasons = s.reasons || format('its parent %s was rejected', s.parent_code)
                        WHERE cardinality(s.reasons) = 0 AND s.parent_code IS NOT NULL
                          AND NOT EXISTS (SELECT 1 FROM admin_areas a WHERE a.code = s.parent_code)
                          AND NOT EXISTS (SELECT 1 FROM {STAGE} t WHERE t.code = s.parent_code
                                          AND cardinality(t.reasons) = 0)""")
        total += cur.rowcount
        if cur.rowcount == 0:
            break
    return total


# -- reports over the rows just inserted (the catalog's `Import.after`) --------------------------------


def _similar_cases(cur: psycopg.Cursor, spec: LayerSpec) -> list[str]:
    """相似案件提示 at import: each new case with an earlier open case of its category close in space and
    time (gis.cases.similar) is reported as a probable duplicate; the import still stores it."""
    from gis.cases import similar

    cur.execute(f"SELECT c.id, s.row_no FROM cases c JOIN {STAGE} s ON s.code = c.code "
                "WHERE cardinality(s.reasons) = 0")
    rows = dict(cur.fetchall())
    found = similar.duplicates_of(cur.connection, list(rows))
    out = []
    for cid, dups in sorted(found.items(), key=lambda kv: rows[kv[0]]):
        best = dups[0]
        out.append(f"row {rows[cid]}: probable duplicate of case {best['code'] or best['id']} "
                   f"(score {best['score']:.2f}, {best['distance_m']:.0f} m, reported {best['reported_at']})")
    return out


AFTER_INSERT: dict[str, Callable[[psycopg.Cursor, LayerSpec], list[str]]] = {"similar_cases": _similar_cases}


def after_insert(cur: psycopg.Cursor, spec: LayerSpec) -> list[str]:
    """The warnings of the layer's after-insert reports."""
    return [w for name in spec.io.after for w in AFTER_INSERT[name](cur, spec)]
