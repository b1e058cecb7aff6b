"""A Hilbert ordering of grid centres. Metric work on grids (areas, lengths) goes through gis.metric."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def hilbert_index(x: NDArray[np.float64], y: NDArray[np.float64], order: int = 16) -> NDArray[np.int64]:
    """Position of each point along a Hilbert curve over the points' bounding box: an ordering that
    keeps neighbours near each other, used to make region growing deterministic and compact."""
    n = 1 << order
    if len(x) == 0:
        return np.empty(0, dtype=np.int64)
    span = max(float(np.ptp(x)), float(np.ptp(y)), 1e-12)
    xi = np.clip(((x - x.min()) / span * (n - 1)).astype(np.int64), 0, n - 1)
    yi = np.clip(((y - y.min()) / span * (n - 1)).astype(np.int64), 0, n - 1)
    d = np.zeros(len(x), dtype=np.int64)
    s = n >> 1
    while s > 0:
        rx = ((xi & s) > 0).astype(np.int64)
        ry = ((yi & s) > 0).astype(np.int64)
        d += s * s * ((3 * rx) ^ ry)
        # rotate the quadrant
        flip = ry == 0
        swap_x = flip & (rx == 1)
        xi = np.where(swap_x, n - 1 - xi, xi)
        yi = np.where(swap_x, n - 1 - yi, yi)
        xi, yi = np.where(flip, yi, xi), np.where(flip, xi, yi)
        s >>= 1
    return d
