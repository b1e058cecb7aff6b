"""Placing rows that carry no geometry (shops registered from lists with only an address).

The importer sits below the geocoder (gis → geocoder is forbidden by the layering), so it does not call
the geocoder: a layer's catalog entry names a placer (`Import.place = ("address", field)`), and the
layer that can place declares it in the `citygrid.placers` entry-point group (pyproject.toml), the same
plug-in pattern as the CLI's command groups. A placer answers, per row, a storage-CRS lon/lat with its
match level and confidence, or the reason the row cannot be placed; the importer rejects those rows
with that reason (all-or-nothing, or listed under --keep-good) and stores level and confidence.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Protocol

import psycopg

from gis.errors import InvalidInput

GROUP = "citygrid.placers"
#: Rows whose best match is less sure than this are not placed (a street-only match is 0.5).
DEFAULT_MIN_CONFIDENCE = 0.6


@dataclass(frozen=True)
class Placement:
    """Where one row goes (lon/lat in EPSG:4490), or why it goes nowhere (`reason`)."""

    lon: float | None = None
    lat: float | None = None
    level: str | None = None
    confidence: float | None = None
    reason: str | None = None


#: Places texts: (texts, min_confidence) → one Placement per text, in order.
PlaceFn = Callable[[Sequence[str | None], float], list[Placement]]


class Placer(Protocol):
    """Made ready once per import (the geocoder loads its reference index here, not per chunk). The server
    does not call it: it hands the importer a PlaceFn over the index its app already holds."""

    def __call__(self, conn: psycopg.Connection) -> PlaceFn: ...


_extra: dict[str, Placer] = {}

#: The placers the project ships, as entry points (loaded like gis.cli's CORE_COMMANDS): an environment
#: installed before one was declared in pyproject.toml still finds it.
KNOWN = {"address": EntryPoint("address", "geocoder.place:address_placer", GROUP)}


def register(name: str, placer: Placer) -> None:
    """Adds a placer without an entry point (tests, scripts)."""
    _extra[name] = placer


def get(name: str) -> Placer:
    """The placer `name`, or InvalidInput saying which package provides it."""
    if name in _extra:
        return _extra[name]
    # The project's own first: an environment installed before a placer's signature changed keeps the
    # old entry point in its metadata.
    for ep in [*([KNOWN[name]] if name in KNOWN else []), *entry_points(group=GROUP)]:
        if ep.name == name:
            try:
                fn: Callable = ep.load()
            except ImportError:
                continue
            return fn  # type: ignore[return-value]
    raise InvalidInput(f"rows without coordinates need the {name!r} placer, which is not installed "
                       f"(entry point group {GROUP}; the geocoder provides 'address')")
