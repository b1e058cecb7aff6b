"""Styles as data: the JSON files of styles/ (shared with the web map and tiles) and ramp interpolation."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np

from gis.settings import ROOT

STYLES_DIR = ROOT / "styles"


@lru_cache
def load(name: str) -> dict[str, Any]:
    """styles/<name>.json."""
    return json.loads((STYLES_DIR / f"{name}.json").read_text(encoding="utf-8"))


def _rgba(color: str) -> tuple[int, int, int, int]:
    c = color.lstrip("#")
    if len(c) == 6:
        c += "ff"
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), int(c[6:8], 16)


def ramp_rgba(t: np.ndarray, ramp: list[list[Any]]) -> np.ndarray:
    """Colours (…, 4) uint8 of positions `t` in [0, 1] along a ramp of [position, colour] stops.

    Through a 1024-entry lookup table: one gather per pixel instead of four interpolations.
    """
    pos = np.array([float(p) for p, _ in ramp])
    cols = np.array([_rgba(c) for _, c in ramp], dtype=np.float64)
    levels = np.linspace(0.0, 1.0, 1024)
    lut = np.empty((1024, 4), dtype=np.uint8)
    for ch in range(4):
        lut[:, ch] = np.rint(np.interp(levels, pos, cols[:, ch])).astype(np.uint8)
    idx = np.rint(np.clip(np.nan_to_num(np.asarray(t, dtype=np.float64)), 0.0, 1.0) * 1023).astype(np.intp)
    return lut[idx]


def hex_color(rgba: np.ndarray) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgba[:3]))


def class_colors(ramp: list[Any], n: int) -> list[str]:
    """`n` colours evenly along a ramp given as [[pos, colour], …] or a plain list of colours."""
    stops = ramp if ramp and isinstance(ramp[0], list) else [[i / max(1, len(ramp) - 1), c] for i, c in enumerate(ramp)]
    ts = np.linspace(0.0, 1.0, n) if n > 1 else np.array([1.0])
    return [hex_color(c) for c in ramp_rgba(ts, stops)]
