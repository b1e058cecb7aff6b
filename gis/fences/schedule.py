"""When a fence applies (its schedule: days and hours) and a stop's time windows, in district local time.

Times of day are "HH:MM" in the district's timezone (settings.timezone, default Asia/Shanghai); days
are ISO weekdays (1 = Monday … 7 = Sunday) or their English abbreviations. An interval whose end is not
after its start runs past midnight ("22:00-02:00"); its day is the day it starts. Evaluation is
vectorised over arrays of epoch seconds: a fix is judged by its own timestamp, never its arrival.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from gis.errors import InvalidInput, Unsupported
from gis.settings import get_settings

DAY_NAMES = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
SCHEDULE_KEYS = {"days", "hours"}
WINDOW_KEYS = {"start", "end"}
MAX_WINDOW_DAYS = 62  # a gap longer than this judges only its last two months of windows


@lru_cache(maxsize=8)
def zone(name: str | None = None) -> ZoneInfo:
    return ZoneInfo(name or get_settings().timezone)


def _minutes(text: Any, where: str) -> int:
    if not isinstance(text, str):
        raise InvalidInput(f"{where}: expected a time of day \"HH:MM\", got {text!r}")
    try:
        hh, mm = text.strip().split(":")
        h, m = int(hh), int(mm)
    except ValueError as exc:
        raise InvalidInput(f"{where}: {text!r} is not a time of day \"HH:MM\"") from exc
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise InvalidInput(f"{where}: {text!r} is not a time of day \"HH:MM\"")
    return h * 60 + m


def parse_interval(value: Any, where: str) -> tuple[int, int]:
    """"HH:MM-HH:MM", ["HH:MM", "HH:MM"] or {"start": "HH:MM", "end": "HH:MM"} → minutes of day."""
    if isinstance(value, str):
        if "-" not in value:
            raise InvalidInput(f"{where}: {value!r} is not an interval \"HH:MM-HH:MM\"")
        a, b = value.split("-", 1)
    elif isinstance(value, list | tuple) and len(value) == 2:
        a, b = value
    elif isinstance(value, dict):
        unknown = set(value) - WINDOW_KEYS
        if unknown:
            raise Unsupported(f"{where}: unknown property {sorted(unknown)[0]!r} (use start, end)")
        if not set(value) >= WINDOW_KEYS:
            raise InvalidInput(f"{where}: needs start and end")
        a, b = value["start"], value["end"]
    else:
        raise InvalidInput(f"{where}: {value!r} is not an interval \"HH:MM-HH:MM\"")
    return _minutes(a, where), _minutes(b, where)


def fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Schedule:
    """Days (ISO weekdays) and hours (minute-of-day intervals) when a fence applies; None = always."""

    days: frozenset[int] | None = None
    hours: tuple[tuple[int, int], ...] | None = None

    @classmethod
    def parse(cls, value: Any) -> Schedule | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise InvalidInput("schedule: expected an object {\"days\": [...], \"hours\": [\"HH:MM-HH:MM\"]}")
        unknown = set(value) - SCHEDULE_KEYS
        if unknown:
            raise Unsupported(f"schedule: unknown property {sorted(unknown)[0]!r} (use days, hours)")
        days = None
        if value.get("days") is not None:
            days = frozenset(_day(d) for d in _list(value["days"], "schedule.days"))
        hours = None
        if value.get("hours") is not None:
            hours = tuple(parse_interval(h, f"schedule.hours[{i}]")
                          for i, h in enumerate(_list(value["hours"], "schedule.hours")))
        return cls(days, hours)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.days is not None:
            out["days"] = sorted(self.days)
        if self.hours is not None:
            out["hours"] = [f"{fmt(a)}-{fmt(b)}" for a, b in self.hours]
        return out

    def active(self, ts: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Whether the schedule covers each timestamp (epoch seconds)."""
        local = ts + utc_offsets(ts)
        day_index = np.floor(local / 86400.0).astype(np.int64)
        minute = np.floor((local - day_index * 86400.0) / 60.0).astype(np.int64)
        weekday = (day_index + 3) % 7 + 1  # 1970-01-01 was a Thursday (ISO 4)
        if self.hours is None:
            return self._day_ok(weekday)
        out = np.zeros(ts.shape, dtype=bool)
        for start, end in self.hours:
            if end > start:
                out |= (minute >= start) & (minute < end) & self._day_ok(weekday)
            else:  # runs past midnight (or all day when equal): the part after midnight belongs to the day before
                out |= (minute >= start) & self._day_ok(weekday)
                out |= (minute < end) & self._day_ok((weekday + 5) % 7 + 1)
        return out

    def _day_ok(self, weekday: NDArray[np.int64]) -> NDArray[np.bool_]:
        if self.days is None:
            return np.ones(weekday.shape, dtype=bool)
        return np.isin(weekday, list(self.days))


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInput(f"{where}: expected a list")
    return value


def _day(value: Any) -> int:
    if isinstance(value, int) and 1 <= value <= 7:
        return value
    if isinstance(value, str) and value[:3].lower() in DAY_NAMES:
        return DAY_NAMES[value[:3].lower()]
    raise InvalidInput(f"schedule.days: {value!r} is not a weekday (1 = Monday … 7 = Sunday, or mon … sun)")


def utc_offsets(ts: NDArray[np.float64]) -> NDArray[np.float64]:
    """The district's UTC offset (seconds) at each timestamp, computed once per distinct hour."""
    if ts.size == 0:
        return np.zeros(0)
    tz = zone()
    hours = np.floor(ts / 3600.0).astype(np.int64)
    uniq, inverse = np.unique(hours, return_inverse=True)
    offs = np.array([datetime.fromtimestamp(int(h) * 3600, tz).utcoffset().total_seconds() for h in uniq])
    return offs[inverse]


def parse_windows(value: Any) -> tuple[tuple[int, int], ...]:
    items = _list(value, "windows")
    if not items:
        raise InvalidInput("windows: a stop needs at least one time window \"HH:MM-HH:MM\"")
    return tuple(parse_interval(w, f"windows[{i}]") for i, w in enumerate(items))


def windows_json(windows: tuple[tuple[int, int], ...]) -> list[str]:
    return [f"{fmt(a)}-{fmt(b)}" for a, b in windows]


@dataclass(frozen=True)
class Occurrence:
    start: float   # epoch seconds
    end: float
    label: str     # "2026-11-20 16:00-17:00" (local)


def occurrences(windows: tuple[tuple[int, int], ...], days: frozenset[int] | None,
                t0: float, t1: float) -> list[Occurrence]:
    """Window occurrences whose end lies in (t0, t1], oldest first (at most MAX_WINDOW_DAYS days back)."""
    tz = zone()
    t0 = max(t0, t1 - MAX_WINDOW_DAYS * 86400.0)
    d0 = datetime.fromtimestamp(t0, tz).date() - timedelta(days=1)
    d1 = datetime.fromtimestamp(t1, tz).date()
    out: list[Occurrence] = []
    day = d0
    while day <= d1:
        if days is None or day.isoweekday() in days:
            for start, end in windows:
                s = _local(day, start, tz)
                e = _local(day + timedelta(days=1) if end <= start else day, end, tz)
                if t0 < e <= t1:
                    out.append(Occurrence(s, e, f"{day.isoformat()} {fmt(start)}-{fmt(end)}"))
        day += timedelta(days=1)
    out.sort(key=lambda o: o.end)
    return out


def _local(day: date, minutes: int, tz: ZoneInfo) -> float:
    base = datetime.combine(day, time(0, 0), tz) + timedelta(minutes=minutes)
    return base.astimezone(UTC).timestamp()


def next_end_after(windows: tuple[tuple[int, int], ...], days: frozenset[int] | None, t: float) -> float:
    """The end of the first window occurrence ending after `t` (for cheap "anything to judge?" checks)."""
    for horizon in (2, 8, MAX_WINDOW_DAYS):
        occ = occurrences(windows, days, t, t + horizon * 86400.0)
        if occ:
            return occ[0].end
    return float("inf")
