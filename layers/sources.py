"""Heat sources: the catalog layers with a `heat` entry, seen as what the heat queries need.

`source=<id>` takes a catalog layer id (the OGC collection id where the layer is published). Adding a
heat source is giving a catalog layer a `heat` entry (gis/catalog/entries.py); nothing here changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

from gis import catalog
from gis.errors import NotFound


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
    #: True when the table has an `h3_cell` column kept by layers.cells.
    indexed: bool = True
    #: For sources that are not a plain table: a SELECT yielding key, geom, and the columns named above.
    select: str | None = None
    #: Is it also an OGC API collection (same id)?
    ogc: bool = True


def _source(layer: catalog.Layer) -> HeatSource:
    heat = layer.heat
    assert heat is not None
    return HeatSource(
        layer.id, heat.title or layer.title, layer.table, layer.id_column, layer.key_sql_type, heat.time,
        heat.category, dict(heat.weights), heat.default_weight, layer.where, heat.parts,
        layer.table in catalog.h3_tables() and not heat.select, heat.select,
        layer.publish,
    )


#: Every heat source by id, in the order the web map offers them (derived from the catalog once).
SOURCES: MappingProxyType[str, HeatSource] = MappingProxyType({
    layer.id: _source(layer) for layer in catalog.heat_sources()
})


def get_source(source_id: str | None) -> HeatSource:
    """The registered source `source_id`, or NotFound naming the known ones."""
    if not source_id:
        source_id = "cases"
    try:
        return SOURCES[source_id]
    except KeyError:
        raise NotFound(f"unknown heat source {source_id!r}; known: {', '.join(sorted(SOURCES))}") from None
