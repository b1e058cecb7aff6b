"""The registry of heat sources: which point table answers `source=<id>` and with which columns.

Ids are those of the OGC API point collections (api/ogc owns that registry; layers/ may not import api/,
so this one repeats the ids and says only what heat needs: table, key, time column, category filter,
weights). Adding a heat source = adding an entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gis.errors import NotFound

#: `cases.source` values that count as citizen complaints (the 12345 hotline).
COMPLAINT_SOURCES = ("hotline", "12345", "热线")
_COMPLAINTS = f"source IN ({', '.join(repr(v) for v in COMPLAINT_SOURCES)})"


@dataclass(frozen=True)
class HeatSource:
    id: str
    title: str
    #: Table (or, when `select` is set, the alias of a sub-select) holding the points in `geom` (EPSG:4490).
    table: str
    key: str
    #: SQL type of the key, for the set-based back-fill of H3 cells.
    key_type: str = "text"
    time_column: str | None = None
    #: How `category=` filters: "class" (大类/小类 columns `major`, `minor`) or the name of a text column.
    category: str | None = None
    #: Weight names accepted by `weight=` → SQL column.
    weights: dict[str, str] = field(default_factory=dict)
    #: Weight used when `weight=` is absent (None: each point counts 1).
    default_weight: str | None = None
    #: Extra SQL condition that defines the source (e.g. complaints = cases from the hotline).
    where: str | None = None
    #: The same condition as values of the table's rollup part column (layers.rollup), when it is one.
    parts: tuple[str, ...] | None = None
    #: True when the table has an `h3_cell` column (migration 0006) kept by layers.cells.
    indexed: bool = True
    #: For sources that are not a plain table: a SELECT yielding key, geom, and the columns named above.
    select: str | None = None
    #: Is it also an OGC API collection (same id)?
    ogc: bool = True


SOURCES: dict[str, HeatSource] = {
    s.id: s
    for s in [
        HeatSource("cases", "案件", "cases", "id", "bigint", "reported_at", "class", {"weight": "weight"}),
        HeatSource("complaints", "投诉 (热线案件)", "cases", "id", "bigint", "reported_at", "class",
                   {"weight": "weight"}, where=_COMPLAINTS, parts=COMPLAINT_SOURCES, ogc=False),
        HeatSource("components", "部件", "components", "id", "text", None, "class"),
        HeatSource("pois", "兴趣点", "pois", "poi_id", "text", None, "category"),
        HeatSource("doorplates", "门（楼）牌", "doorplates", "add_id", "text"),
        HeatSource("waste_facilities", "环卫设施", "waste_facilities", "id", "bigint", None, "kind",
                   {"capacity_tpd": "capacity_tpd"}),
        HeatSource("waste_records", "垃圾产生量 (称重记录, 吨)", "waste_records", "id", "bigint", "ts", "waste_kind",
                   {"tonnes": "tonnes"}, default_weight="tonnes", ogc=False),
        HeatSource(
            "vehicles", "车辆 (最新位置)", "v", "id", "text", "ts", "kind", indexed=False,
            select="SELECT v.id, v.kind, p.ts, p.geom FROM vehicles v CROSS JOIN LATERAL "
                   "(SELECT ts, geom FROM positions WHERE vehicle_id = v.id ORDER BY ts DESC LIMIT 1) p",
        ),
    ]
}


def get_source(source_id: str | None) -> HeatSource:
    """The registered source `source_id`, or NotFound naming the known ones."""
    if not source_id:
        source_id = "cases"
    try:
        return SOURCES[source_id]
    except KeyError:
        raise NotFound(f"unknown heat source {source_id!r}; known: {', '.join(sorted(SOURCES))}") from None
