"""The `address` placer of the importer (gis.io.place): shop lists with only an address are placed here.

Each address goes through the geocoder's own matcher (geocoder.match.geocode, the same call the batch
endpoint makes); the positions of a whole file go to the storage CRS in one vectorised transform. A row
is placed only when its best candidate is unambiguous and at least `min_confidence` sure; otherwise its
reason says which: no address, no match, several places fit equally, or a match too vague (e.g. only
the street).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import psycopg

from geocoder.answer import storage_coords
from geocoder.index import ReferenceIndex
from geocoder.match import Match, geocode
from gis.io.place import PlaceFn, Placement


def _ambiguous(matches: list[Match]) -> bool:
    """Two best candidates equally sure: the matcher could not tell the places apart."""
    return len(matches) > 1 and abs(matches[0].confidence - matches[1].confidence) < 1e-9


def address_placer(conn: psycopg.Connection, index: ReferenceIndex | None = None) -> PlaceFn:
    """The importer's `address` placer (entry point citygrid.placers): over `index`, else over the
    reference index loaded once from `conn` for this import."""
    return partial(place_addresses, index or ReferenceIndex.load(conn))


def place_addresses(index: ReferenceIndex, texts: Sequence[str | None], min_confidence: float) -> list[Placement]:
    """One Placement per text, in order."""
    found: list[tuple[int, Match]] = []
    out: list[Placement | None] = [None] * len(texts)
    for i, text in enumerate(texts):
        q = (text or "").strip()
        if not q:
            out[i] = Placement(reason="no coordinates and no address")
            continue
        _, matches = geocode(index, q, 2)
        if not matches:
            out[i] = Placement(reason=f"address not found: {q!r} matches no place (unmatched)")
        elif _ambiguous(matches):
            m = matches[0]
            out[i] = Placement(level=m.level, confidence=m.confidence,
                               reason=f"ambiguous address: {q!r} fits several places equally "
                                      f"({matches[0].standard_address} / {matches[1].standard_address})")
        elif matches[0].confidence < min_confidence:
            m = matches[0]
            out[i] = Placement(level=m.level, confidence=m.confidence,
                               reason=f"match too uncertain: {q!r} → {m.standard_address} ({m.level}, "
                                      f"confidence {m.confidence:.2f} < {min_confidence:.2f})")
        else:
            found.append((i, matches[0]))
    if found:
        lon, lat = storage_coords(index, [m for _, m in found])
        for k, (i, m) in enumerate(found):
            out[i] = Placement(float(lon[k]), float(lat[k]), m.level, round(float(m.confidence), 3))
    return [p if p is not None else Placement(reason="not placed") for p in out]
