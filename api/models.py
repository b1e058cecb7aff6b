"""Pydantic models of the /api answers, so /openapi.json describes them.

They describe, they do not reshape: every model allows extra fields (an engine's answer passes through
with all its keys) and types nested engine records loosely, so adding `response_model=` changes no
byte a client sees beyond key order, which JSON does not fix. Streaming and GeoJSON answers are
described with `responses=` (see GEOJSON) rather than validated.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Open(BaseModel):
    """Documented fields; anything else the engine adds is kept."""

    model_config = ConfigDict(extra="allow")


class Health(Open):
    status: str = Field(description="ok while the process serves")


class WhoAmI(Open):
    name: str
    role: str = Field(description="viewer, inspector, planner, admin or device")
    vehicles: list[str] = Field(description="vehicles a device key may report for")
    area: str | None = Field(None, description="the area the key is limited to (region or work-grid code); "
                                               "null: the whole city")
    area_kind: str | None = Field(None, description="district, street, community or the work-grid kind")
    area_name: str | None = Field(None, description="the area's name")
    user: str | None = Field(default=None, description="the person of a login session or bearer token")
    app: str | None = Field(default=None, description="the application of an API key or a machine client's token")
    via: str | None = Field(default=None, description="key, session or bearer")
    csrf: str | None = Field(default=None, description="login sessions: the token to send in X-CSRF-Token on writes")


class LoginAnswer(Open):
    name: str
    role: str
    area: str | None = None
    csrf: str = Field(description="send it back in the X-CSRF-Token header of every write of this session")
    idle_timeout_s: int
    absolute_timeout_s: int


class AlarmKind(Open):
    kind: str
    label: str
    label_zh: str
    label_en: str


class AlarmKinds(Open):
    kinds: list[AlarmKind]


class Passed(Open):
    vehicles: list[dict[str, Any]] = Field(description="vehicles that passed, with their fixes there")
    count: int


class Census(Open):
    level: str
    areas: list[dict[str, Any]] = Field(description="普查成果 per area: counts and areas by code")


class Draws(Open):
    draws: list[dict[str, Any]] = Field(description="recorded draws, newest first")


class CodeSegment(Open):
    name: str
    value: str
    label: Any = None


class CodeReading(Open):
    code: str
    kind: str
    exists: bool | None = None
    name: str | None = None
    segments: list[CodeSegment]


class CodeAnswer(CodeReading):
    ambiguous: bool
    interpretations: list[CodeReading]


class HeatSource(Open):
    id: str
    title: str
    time: bool
    category: Any = None
    weights: list[str]
    default_weight: Any = None
    ogc_collection: Any = None


class GridLocation(Open):
    outside: bool | None = None
    district: dict[str, Any] | None = None
    street: dict[str, Any] | None = None
    community: dict[str, Any] | None = None
    unit_grid: dict[str, Any] | None = None
    eval_grid: dict[str, Any] | None = None
    work_grids: list[dict[str, Any]] = Field(default_factory=list)


#: `responses=` for routes answering GeoJSON (a FeatureCollection or a Feature).
GEOJSON = {200: {"content": {"application/geo+json": {"schema": {
    "type": "object", "required": ["type"], "properties": {"type": {"enum": ["FeatureCollection", "Feature"]}},
}}}}}
