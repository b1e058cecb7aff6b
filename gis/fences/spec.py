"""A fence as the API receives it: a GeoJSON Feature, validated strictly.

Every property is known or refused (422 naming it): a typo such as `buffer` for `buffer_m` must not
silently produce a fence without a buffer. Properties that only make sense for one kind are refused on
the others. Output-only properties (id, zone, area_m2, created_at, updated_at) are accepted and ignored
so that a GET answer can be edited and PUT back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shapely.geometry.base import BaseGeometry

from gis.errors import InvalidInput, Unsupported
from gis.fences import geometry as fgeom
from gis.fences.kinds import ALARM_CHOICES, FENCE_KINDS, STAY_OUTSIDE_ALARMS
from gis.fences.schedule import Schedule, parse_windows, windows_json

COMMON = {"kind", "name", "vehicles", "groups", "vehicle_groups", "schedule", "debounce", "speed_limit_kmh",
          "dwell_limit_s", "signal_timeout_s", "crs", "route_id", "note"}
PER_KIND = {
    "area": {"buffer_m", "alarm_kind"},
    "forbidden": {"buffer_m", "width_m", "alarm_kind"},
    "corridor": {"buffer_m", "width_m", "alarm_kind"},
    "stop": {"radius_m", "windows", "dwell_s"},
}
OUTPUT_ONLY = {"id", "zone", "area_m2", "created_at", "updated_at"}
DEBOUNCE_KEYS = {"fixes", "seconds", "margin_m", "clear_fixes"}
FEATURE_KEYS = {"type", "id", "geometry", "properties", "kind", "crs", "bbox"}

DEFAULT_DEBOUNCE = {"fixes": 3, "seconds": 30.0, "margin_m": 20.0, "clear_fixes": 2}
DEFAULT_CORRIDOR_BUFFER_M = 30.0
DEFAULT_DWELL_S = 60.0


@dataclass
class FenceSpec:
    kind: str
    geom: BaseGeometry          # as drawn, EPSG:4490
    zone: BaseGeometry          # effective MultiPolygon, EPSG:4490
    name: str | None = None
    buffer_m: float | None = None
    radius_m: float | None = None
    speed_limit_kmh: float | None = None
    dwell_limit_s: float | None = None
    dwell_s: float | None = None
    signal_timeout_s: float | None = None
    vehicles: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    schedule: dict[str, Any] | None = None
    windows: list[str] | None = None
    debounce: dict[str, Any] | None = None
    route_id: int | None = None
    alarm_kind: str | None = None


def _number(props: dict[str, Any], key: str, *, positive: bool = True) -> float | None:
    value = props.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{key}: expected a number, got {value!r}")
    if positive and value <= 0:
        raise InvalidInput(f"{key}: must be greater than 0, got {value!r}")
    return float(value)


def _strings(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise InvalidInput(f"{key}: expected a list of ids")
    return [str(v) for v in value]


def parse_debounce(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput("debounce: expected an object {fixes, seconds, margin_m, clear_fixes}")
    unknown = set(value) - DEBOUNCE_KEYS
    if unknown:
        raise Unsupported(f"debounce: unknown property {sorted(unknown)[0]!r} "
                          f"(use {', '.join(sorted(DEBOUNCE_KEYS))})")
    out: dict[str, Any] = {}
    for key, val in value.items():
        if isinstance(val, bool) or not isinstance(val, int | float) or val < 0:
            raise InvalidInput(f"debounce.{key}: expected a number ≥ 0, got {val!r}")
        if key in ("fixes", "clear_fixes"):
            if int(val) != val or val < 1:
                raise InvalidInput(f"debounce.{key}: expected a whole number ≥ 1, got {val!r}")
            out[key] = int(val)
        else:
            out[key] = float(val)
    return out


def parse_feature(feature: Any) -> FenceSpec:
    """Validates a fence Feature and computes its zone. Raises Unsupported (422) for an unknown kind or
    property, InvalidInput/InvalidGeometry (400) for bad values."""
    if not isinstance(feature, dict):
        raise InvalidInput("a fence is a GeoJSON Feature object")
    unknown_top = set(feature) - FEATURE_KEYS
    if unknown_top:
        raise Unsupported(f"unknown Feature member {sorted(unknown_top)[0]!r}")
    if feature.get("type", "Feature") != "Feature":
        raise InvalidInput(f"expected a GeoJSON Feature, got type {feature.get('type')!r}")
    props = feature.get("properties") or {}
    if not isinstance(props, dict):
        raise InvalidInput("properties: expected an object")
    kind = props.get("kind", feature.get("kind"))
    if kind is None:
        raise InvalidInput(f"kind: missing (one of {', '.join(FENCE_KINDS)})")
    if kind not in FENCE_KINDS:
        raise Unsupported(f"unknown fence kind {kind!r} (use {', '.join(FENCE_KINDS)})")
    allowed = COMMON | PER_KIND[kind] | OUTPUT_ONLY
    for key in props:
        if key not in allowed:
            other = [k for k, keys in PER_KIND.items() if key in keys]
            if other:
                raise Unsupported(f"property {key!r} does not apply to {kind} fences (only to {', '.join(other)})")
            raise Unsupported(f"unknown fence property {key!r}")
    src_crs = props.get("crs", feature.get("crs"))
    if isinstance(src_crs, dict):  # old-style GeoJSON crs member {"type": "name", "properties": {"name": …}}
        src_crs = (src_crs.get("properties") or {}).get("name")
    if "geometry" not in feature or feature["geometry"] is None:
        raise InvalidInput("geometry: missing")
    geom = fgeom.parse_geometry(feature["geometry"], kind, src_crs)

    buffer_m = _number(props, "buffer_m", positive=False)
    if buffer_m is not None and buffer_m < 0:
        raise InvalidInput(f"buffer_m: must be ≥ 0 metres, got {buffer_m!r}")
    width_m = _number(props, "width_m")
    if width_m is not None:
        if buffer_m is not None:
            raise InvalidInput("give either width_m or buffer_m, not both")
        buffer_m = width_m / 2.0
    radius_m = _number(props, "radius_m")
    if kind == "corridor" and buffer_m is None:
        buffer_m = DEFAULT_CORRIDOR_BUFFER_M
    if kind == "corridor" and not buffer_m:
        raise InvalidInput("buffer_m: a corridor needs a width greater than 0 metres")
    if kind == "stop" and radius_m is None:
        raise InvalidInput("radius_m: a stop fence needs its radius in metres")
    windows = None
    if kind == "stop":
        if props.get("windows") is None:
            raise InvalidInput("windows: a stop fence needs its time windows [\"HH:MM-HH:MM\", …]")
        windows = windows_json(parse_windows(props["windows"]))
    schedule = Schedule.parse(props.get("schedule"))
    alarm_kind = props.get("alarm_kind")
    if alarm_kind is not None and alarm_kind not in ALARM_CHOICES[kind]:
        raise Unsupported(f"alarm_kind {alarm_kind!r} is not one a {kind} fence raises "
                          f"({', '.join(ALARM_CHOICES[kind])})")
    if alarm_kind in STAY_OUTSIDE_ALARMS and props.get("dwell_limit_s") is None:
        raise InvalidInput(f"dwell_limit_s: a {alarm_kind} fence needs the longest allowed stop outside it (s)")
    if alarm_kind == "restricted_hours" and props.get("schedule") is None:
        raise InvalidInput("schedule: a restricted_hours fence needs its restricted hours")
    route_id = props.get("route_id")
    if route_id is not None and (isinstance(route_id, bool) or not isinstance(route_id, int)):
        raise InvalidInput(f"route_id: expected an integer, got {route_id!r}")
    name = props.get("name")
    if name is not None and not isinstance(name, str):
        raise InvalidInput("name: expected a string")
    groups = _strings(props.get("groups"), "groups") + _strings(props.get("vehicle_groups"), "vehicle_groups")
    return FenceSpec(
        kind=kind,
        geom=fgeom.round_coords(geom, 9),
        zone=fgeom.effective_zone(geom, kind, buffer_m, radius_m),
        name=name,
        buffer_m=buffer_m,
        radius_m=radius_m,
        speed_limit_kmh=_number(props, "speed_limit_kmh"),
        dwell_limit_s=_number(props, "dwell_limit_s"),
        dwell_s=_number(props, "dwell_s", positive=False) if kind == "stop" else None,
        signal_timeout_s=_number(props, "signal_timeout_s"),
        vehicles=_strings(props.get("vehicles"), "vehicles"),
        groups=sorted(set(groups)),
        schedule=schedule.to_json() if schedule else None,
        windows=windows,
        debounce=parse_debounce(props.get("debounce")),
        route_id=route_id,
        alarm_kind=alarm_kind,
    )
