"""Per-vehicle evaluation state and the alarms it produces.

The state is small and in memory; it is rebuilt from stored positions when missing (a restart, another
worker having evaluated the vehicle, a late fix). An alarm is identified by (vehicle, kind, fence,
start): every write of the engine is an upsert on that identity, so re-evaluation is idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

CLEAR, PENDING, ALARMED = 0, 1, 2


@dataclass
class AlarmRec:
    """The latest known content of one alarm (what gets upserted)."""

    kind: str
    fence_id: int | None
    start: float
    end: float | None
    lon: float
    lat: float
    max_value: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, int | None, float]:
        return (self.kind, self.fence_id, self.start)


@dataclass
class Track:
    """Debounce/hysteresis state of one (fence, alarm kind) for one vehicle."""

    mode: int = CLEAR
    last_v: int = 0
    run_start: float = 0.0
    run_count: int = 0
    run_lon: float = 0.0
    run_lat: float = 0.0
    clear_count: int = 0
    clear_start: float = 0.0
    max_value: float | None = None
    max_at: float | None = None
    alarm: AlarmRec | None = None


@dataclass
class StopState:
    """Dwell intervals inside a stop's radius (recent ones) and how far its windows have been judged."""

    in_since: float | None = None
    last_in: float | None = None
    intervals: list[tuple[float, float]] = field(default_factory=list)
    judged_until: float | None = None


@dataclass
class Stay:
    """The vehicle standing still: fixes within a few tens of metres of `anchor` since `start`."""

    start: float
    last: float
    lon: float
    lat: float
    alarms: dict[int, AlarmRec] = field(default_factory=dict)   # fence id -> open illegal_stay alarm
    x: float = 0.0              # the anchor in `metric` (cached projection)
    y: float = 0.0
    metric: str | None = None


@dataclass
class VehicleState:
    vehicle_id: str
    seq: int = 0
    last_ts: float | None = None
    last_lon: float | None = None
    last_lat: float | None = None
    first_ts: float | None = None
    recent_ts: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    recent_lon: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    recent_lat: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    recent_x: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))   # the same in `recent_metric`
    recent_y: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    recent_metric: str | None = None
    tracks: dict[tuple[int, str], Track] = field(default_factory=dict)
    stops: dict[int, StopState] = field(default_factory=dict)
    stay: Stay | None = None
    next_judge: float = -np.inf
    fence_stamp: dict[int, Any] = field(default_factory=dict)   # fence id -> updated_at seen

    def open_alarms(self) -> list[AlarmRec]:
        out = [t.alarm for t in self.tracks.values() if t.mode == ALARMED and t.alarm is not None]
        if self.stay is not None:
            out.extend(self.stay.alarms.values())
        return out
