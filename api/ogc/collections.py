"""The OGC API's view of the catalog: which layers are collections, and how property types are published.

The collections themselves are declared in gis.catalog (one entry per published table); here is only
what is particular to the OGC presentation: the JSON Schema of each property type and the lookup that
answers 404 for an unknown collection id.
"""

from __future__ import annotations

from gis import catalog
from gis.catalog import Field as Prop
from gis.catalog import Layer as Collection
from gis.errors import NotFound

__all__ = ["COLLECTIONS", "TYPES", "Collection", "Prop", "get_collection"]

#: JSON type of a property -> JSON Schema fragment (queryables, tilesets).
TYPES: dict[str, dict] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "date-time": {"type": "string", "format": "date-time"},
    "array": {"type": "array", "items": {"type": "string"}},
    "object": {"type": "object"},
}

#: The published collections, in the order /ogc/collections lists them.
COLLECTIONS: tuple[Collection, ...] = catalog.published()


def get_collection(collection_id: str) -> Collection:
    """The published collection `collection_id`, or NotFound (unpublished layers are not collections)."""
    c = catalog.get(collection_id)
    if not c.publish:
        raise NotFound(f"unknown collection {collection_id!r}; see /ogc/collections")
    return c
