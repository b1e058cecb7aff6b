"""Class breaks for choropleths and hexagon legends: quantiles (numpy) or natural breaks (jenkspy, Fisher-Jenks)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gis.errors import InvalidInput

from .style import class_colors

METHODS = ("quantiles", "natural_breaks", "equal_interval")


def breaks(values: np.ndarray, method: str = "quantiles", k: int = 5) -> list[float]:
    """Upper bounds of the classes (the last is the maximum); fewer than `k` when values are few."""
    if method not in METHODS:
        raise InvalidInput(f"classification must be one of {', '.join(METHODS)}, got {method!r}")
    if not 2 <= k <= 9:
        raise InvalidInput(f"classes must be 2–9, got {k}")
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return []
    uniq = np.unique(v)
    if uniq.size <= k:
        return [float(x) for x in uniq]
    if method == "quantiles":
        qs = np.quantile(v, np.linspace(0, 1, k + 1)[1:])
    elif method == "equal_interval":
        qs = np.linspace(v.min(), v.max(), k + 1)[1:]
    else:
        import jenkspy

        qs = np.array(jenkspy.jenks_breaks(v, n_classes=k)[1:], dtype=np.float64)
    return [float(x) for x in np.unique(qs)]


def classify(values: np.ndarray, upper: list[float]) -> np.ndarray:
    """Class index of each value: the first class whose upper bound is ≥ the value."""
    if not upper:
        return np.zeros(len(values), dtype=np.int64)
    idx = np.searchsorted(np.asarray(upper), np.asarray(values, dtype=np.float64), side="left")
    return np.minimum(idx, len(upper) - 1)


def legend(values: np.ndarray, upper: list[float], ramp: list[Any], unit: str = "") -> list[dict[str, Any]]:
    """Legend entries {from, to, color, count, label} for the classes."""
    colors = class_colors(ramp, len(upper))
    v = np.asarray(values, dtype=np.float64)
    lo = float(v.min()) if v.size else 0.0
    entries = []
    for i, hi in enumerate(upper):
        start = lo if i == 0 else upper[i - 1]
        inside = (v <= hi) & ((v > start) if i else (v >= start))
        entries.append({
            "from": start, "to": hi, "color": colors[i], "count": int(inside.sum()),
            "label": f"{_fmt(start)} – {_fmt(hi)}{(' ' + unit) if unit else ''}",
        })
    return entries


def _fmt(x: float) -> str:
    return f"{x:.0f}" if abs(x) >= 100 or float(x).is_integer() else f"{x:.2f}"
