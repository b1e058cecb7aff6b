"""What every JSON intake of measurements shares (GPS fixes: gis/tracks/ingest.py; device readings:
gis/devices/ingest.py): the body as one bounded array, instants that must carry an offset, and numbers
that are numbers. One reading of these rules, so a fix and a reading are refused in the same words."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import orjson

from gis.errors import InvalidInput, TooLarge

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def json_array(body: bytes | bytearray | memoryview | list[Any] | Any, key: str, limit: int) -> list[Any]:
    """The posted items: a JSON array, or an object holding it under `key` (`{"fixes": [...]}`).
    A body that is not JSON, not such an array, or longer than `limit` is refused as a whole."""
    if isinstance(body, bytes | bytearray | memoryview):
        try:
            items = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"body is not JSON: {exc}") from exc
    else:
        items = body
    if isinstance(items, dict) and isinstance(items.get(key), list):
        items = items[key]
    if not isinstance(items, list):
        raise InvalidInput(f"body: expected a JSON array of {key}")
    if len(items) > limit:
        raise TooLarge(f"{len(items)} {key} in one request; send at most {limit}")
    return items


def instant(value: Any) -> datetime | None:
    """An ISO 8601 instant with an offset or Z; None for anything else (a naive time is ambiguous)."""
    if not isinstance(value, str):
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else None


def epoch_us(dt: datetime) -> int:
    """Microseconds since 1970 (exact: no float on the way)."""
    delta = dt - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def number(value: Any, *, finite: bool = False) -> float | None:
    """A JSON number as float (booleans are not numbers); None otherwise, or when `finite` and it is not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if finite and not math.isfinite(value):
        return None
    return float(value)
