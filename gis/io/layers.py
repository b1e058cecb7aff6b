"""The importer's view of a catalog layer: the fields a file may carry, the key, the geometry, the rules.

Everything here is derived from gis.catalog; field names in files are matched case-insensitively,
ignoring `_`, `-` and spaces, against each field's `names` (the GB/T 30428.3 names first for the
geocoding layers — export writes those, so an export imports back unchanged).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from gis import catalog
from gis.catalog import PG_TYPES, Field, Layer

__all__ = ["LAYER_NAMES", "PG_TYPES", "Field", "LayerSpec", "get_layer", "norm"]


@dataclass(frozen=True, eq=False)
class LayerSpec:
    """A catalog layer as files see it (only layers with `io` rules have one)."""

    layer: Layer

    @property
    def name(self) -> str:
        return self.layer.id

    @property
    def table(self) -> str:
        return self.layer.table

    @cached_property
    def fields(self) -> tuple[Field, ...]:
        return tuple(f for f in self.layer.fields if f.imported)

    @cached_property
    def accepted(self) -> frozenset[str]:
        """Every name a property or column may carry for one of the fields (compared normalised)."""
        return frozenset(norm(n) for f in self.fields for n in f.accepted_names())

    @cached_property
    def readonly(self) -> frozenset[str]:
        """Published names that are not imported (computed or server-kept), normalised."""
        return frozenset(norm(f.name) for f in self.layer.fields if not f.imported)

    @property
    def key(self) -> tuple[str, ...]:
        return self.io.key

    @property
    def io(self) -> catalog.Import:
        assert self.layer.io is not None
        return self.layer.io

    @property
    def geometry(self) -> str | None:
        return self.io.geometry

    @property
    def gbt(self) -> bool:
        return self.io.gbt

    @property
    def extra_json(self) -> str | None:
        return self.io.extra_json

    @property
    def fixed(self) -> dict[str, str]:
        return self.io.fixed

    @property
    def keeps_h3(self) -> bool:
        return self.layer.h3 and self.geometry == "Point"

    def get_field(self, column: str) -> Field:
        for f in self.fields:
            if f.column == column:
                return f
        raise KeyError(column)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.column for f in self.fields)

    @property
    def id_column(self) -> str:
        return self.key[-1]


@lru_cache(maxsize=16384)
def norm(name: str) -> str:
    """The form field names are compared in: lower case without `_`, `-`, spaces. Cached: matching one
    feature's properties normalises every accepted name of every field (~40 calls per Part 4 write)."""
    return re.sub(r"[\s_\-]", "", str(name)).lower()


_SPECS = {layer.id: LayerSpec(layer) for layer in catalog.LAYERS if layer.io}

LAYER_NAMES = catalog.import_names()


def get_layer(name: str) -> LayerSpec:
    """The import view of layer `name` (an id or alias such as `regions`), or InvalidInput."""
    return _SPECS[catalog.importable(name).id]
