"""The catalog: every published table declared once (gis/catalog/entries.py).

Readers: the OGC API (collections, queryables, tiles), the heat and flow layers (sources, rollups), the
importer and exporter (fields, file names, checks), H3 maintenance, the change counters, the web map
(through `/api/catalog`) and the tests' table list. Look layers up here; never restate them.
"""

from __future__ import annotations

from types import MappingProxyType

from gis.catalog.entries import LAYERS
from gis.catalog.model import (
    FIELD_TYPES,
    JSON_TYPES,
    PG_TYPES,
    Field,
    Heat,
    Import,
    Layer,
    Rollup,
    Scope,
    Term,
    Vocab,
    vocab,
)
from gis.errors import InvalidInput, NotFound

__all__ = [
    "FIELD_TYPES",
    "JSON_TYPES",
    "LAYERS",
    "PG_TYPES",
    "Field",
    "Heat",
    "Import",
    "Layer",
    "Rollup",
    "Scope",
    "Term",
    "Vocab",
    "by_id",
    "get",
    "h3_tables",
    "heat_sources",
    "import_names",
    "importable",
    "published",
    "tables",
    "vocab",
    "writable",
]

_BY_ID = MappingProxyType({layer.id: layer for layer in LAYERS})
assert len(_BY_ID) == len(LAYERS), "layer ids must be unique"

_IMPORT_NAMES = MappingProxyType({
    name: layer for layer in LAYERS if layer.io for name in (layer.id, *layer.io.aliases)
})


def by_id() -> MappingProxyType[str, Layer]:
    return _BY_ID


def get(layer_id: str) -> Layer:
    """The layer `layer_id`, or NotFound naming where the list is."""
    try:
        return _BY_ID[layer_id]
    except KeyError:
        raise NotFound(f"unknown collection {layer_id!r}; see /ogc/collections") from None


def published() -> tuple[Layer, ...]:
    """The OGC API collections, in the order they are listed."""
    return tuple(layer for layer in LAYERS if layer.publish)


def writable() -> tuple[Layer, ...]:
    """Published layers open to OGC API – Features Part 4 writes (each names the role it needs)."""
    return tuple(layer for layer in LAYERS if layer.publish and layer.write)


def heat_sources() -> tuple[Layer, ...]:
    """Layers that are heat sources, in the order the web map offers them."""
    return tuple(sorted((layer for layer in LAYERS if layer.heat), key=lambda layer: layer.heat.rank))  # type: ignore[union-attr]


def importable(name: str) -> Layer:
    """The layer a file named `name` (a layer id or alias) loads into, or InvalidInput listing them."""
    layer = _IMPORT_NAMES.get(name.strip().lower())
    if layer is None:
        aliases = [a for lyr in LAYERS if lyr.io for a in lyr.io.aliases]
        raise InvalidInput(f"unknown layer {name!r}: use one of {', '.join(import_names())}"
                           + (f" (or {', '.join(aliases)})" if aliases else ""))
    return layer


def import_names() -> tuple[str, ...]:
    """Ids of the importable layers, sorted."""
    return tuple(sorted(layer.id for layer in LAYERS if layer.io))


def h3_tables() -> frozenset[str]:
    """Tables that keep a stored `h3_cell` (their loaders supply it)."""
    return frozenset(layer.table for layer in LAYERS if layer.h3)


def tables() -> tuple[str, ...]:
    """Every table a layer stores its rows in, in catalog order (each once)."""
    return tuple(dict.fromkeys(layer.table for layer in LAYERS))
