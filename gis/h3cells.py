"""H3 cell-id arithmetic shared by the demo loader (gis/) and the heat layers (layers/).

An H3 index (mode 1) is: bit 63 reserved (0), 4 mode bits, 3 reserved, 4 bits of resolution (52–55),
7 bits of base cell, then 15 digits of 3 bits (digit of resolution i at bits 45-3i … 47-3i), unused
digits set to 7. So the parent at resolution r is "set the resolution field to r, set digits r+1…15 to 7",
and the descendants of a cell of resolution k at any finer resolution are the ids between "digits k+1…15
all 0" and "all 7": one contiguous range. Points keep their resolution-15 cell (`h3_cell`, migration 0006);
here is the arithmetic, in SQL (constants only) and numpy, and the per-point cell computation that both
the loader (cells supplied in its COPY) and the back-fill of layers.cells use.
"""

from __future__ import annotations

import h3
import numpy as np
import shapely
from h3.api import basic_int

STORED_RES = 15
RES_MASK = 15 << 52


def digits_mask(res: int) -> int:
    """Bits of the digits finer than `res`."""
    return (1 << (3 * (15 - res))) - 1


def parent_sql(column: str, res: int) -> str:
    """SQL for the resolution-`res` parent of the (finer) cell in `column`; constants only, no parameters."""
    if not 0 <= res <= STORED_RES:
        raise ValueError(f"resolution must be 0–{STORED_RES}, got {res}")
    return f"((({column} & ~({RES_MASK}::bigint)) | ({res << 52}::bigint)) | ({digits_mask(res)}::bigint))"


def parent_of(cells: np.ndarray, res: int) -> np.ndarray:
    """The same arithmetic in numpy."""
    cells = np.asarray(cells).astype(np.int64)
    return (cells & ~np.int64(RES_MASK)) | np.int64(res << 52) | np.int64(digits_mask(res))


def descendant_range(cell: int, at_res: int = STORED_RES) -> tuple[int, int]:
    """Smallest and largest id that a resolution-`at_res` descendant of `cell` can have (inclusive bounds)."""
    k = basic_int.get_resolution(cell)
    base = (cell & ~RES_MASK) | (at_res << 52)
    return base & ~digits_mask(k), base | digits_mask(k)


def latlng_cells(lat: np.ndarray, lon: np.ndarray, res: int = STORED_RES) -> np.ndarray:
    """Cells of many points (h3 has no vectorised call; ~0.7 µs a point). Bad coordinates get 0."""
    fn = basic_int.latlng_to_cell
    out = np.zeros(len(lat), dtype=np.int64)
    for i, (a, b) in enumerate(zip(np.asarray(lat).tolist(), np.asarray(lon).tolist(), strict=True)):
        try:
            out[i] = fn(a, b, res)
        except (ValueError, TypeError, h3.H3BaseException):
            out[i] = 0
    return out


def point_cells(geoms: object, res: int = STORED_RES) -> list[int | None]:
    """Resolution-`res` cells of shapely points in lon/lat (EPSG:4490); None where there is no point."""
    arr = np.asarray(geoms, dtype=object)
    out: list[int | None] = [None] * len(arr)
    present = np.array([g is not None and not shapely.is_empty(g) for g in arr], dtype=bool)
    if present.any():
        pts = arr[present]
        # Points as they are; anything else (a loader may hand lines or polygons) by its representative point.
        pts = np.where(shapely.get_type_id(pts) == 0, pts, shapely.point_on_surface(pts))
        x, y = shapely.get_x(pts), shapely.get_y(pts)
        cells = latlng_cells(y, x, res)
        for i, c in zip(np.nonzero(present)[0].tolist(), cells.tolist(), strict=True):
            out[i] = c
    return out
