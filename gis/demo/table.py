"""A generated table: named columns (lists or numpy arrays) plus shapely geometry columns in 4490.

Kept deliberately dumb: the generator fills columns set-wise, the loader COPYs them, the exporter writes
GeoJSON, and the checksum hashes them; none needs to know what a table means.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import shapely

from gis.settings import STORAGE_SRID


@dataclass
class Table:
    name: str
    columns: dict[str, Any]
    geom_cols: tuple[str, ...] = ("geom",)
    serial: str | None = None          # a bigserial column given explicit values (its sequence is moved on)
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        first = next(iter(self.columns.values()))
        return len(first)

    def column_list(self, name: str) -> list[Any]:
        col = self.columns[name]
        if name in self.geom_cols:
            return ewkb_hex(col)
        if isinstance(col, np.ndarray):
            return col.tolist()
        return list(col)

    def rows(self) -> list[tuple]:
        cols = [self.column_list(c) for c in self.columns]
        return list(zip(*cols, strict=True))

    def digest(self) -> str:
        """A stable hash of the content (geometry as WKB), for the determinism check."""
        h = hashlib.sha256(self.name.encode())
        for name, col in self.columns.items():
            h.update(name.encode())
            if name in self.geom_cols:
                arr = np.asarray(col, dtype=object)
                for wkb in shapely.to_wkb(arr, include_srid=False):
                    h.update(wkb if wkb is not None else b"\0")
            else:
                values = col.tolist() if isinstance(col, np.ndarray) else list(col)
                h.update(orjson.dumps(values, default=str, option=orjson.OPT_SERIALIZE_NUMPY))
        return h.hexdigest()


def ewkb_hex(geoms: Any) -> list[str | None]:
    arr = np.asarray(geoms, dtype=object)
    out: list[str | None] = [None] * len(arr)
    present = np.array([g is not None for g in arr], dtype=bool)
    if present.any():
        withsrid = shapely.set_srid(arr[present], STORAGE_SRID)
        hexes = shapely.to_wkb(withsrid, hex=True, include_srid=True)
        for i, v in zip(np.nonzero(present)[0].tolist(), hexes.tolist(), strict=True):
            out[i] = v
    return out
