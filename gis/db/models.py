"""GeoAlchemy2 models of the schema. The DDL itself lives in `sql/` migrations; a test checks that
these models and the migrated database agree, so each describes the other truthfully.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, CHAR, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gis.settings import STORAGE_SRID


def geometry_column(kind: str, nullable: bool = False) -> Any:
    return mapped_column(
        Geometry(kind, srid=STORAGE_SRID, spatial_index=False), nullable=nullable
    )


def text_array() -> Any:
    return mapped_column(ARRAY(Text), nullable=False, server_default="{}")


class Base(DeclarativeBase):
    pass


class DatasetMeta(Base):
    __tablename__ = "dataset_meta"
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[Any] = mapped_column(JSONB, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AdminArea(Base):
    """区域: district (6 digits), street/town (9), community/village (12)."""

    __tablename__ = "admin_areas"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    level: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(
        String(12), ForeignKey("admin_areas.code", onupdate="CASCADE")
    )
    alias: Mapped[list[str]] = text_array()
    old_name: Mapped[list[str]] = text_array()
    data_source: Mapped[str | None] = mapped_column(Text)
    or_date: Mapped[date | None] = mapped_column(Date)
    ch_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    area_m2: Mapped[float | None] = mapped_column(Double)
    geom = geometry_column("MULTIPOLYGON")


class EvalGrid(Base):
    """评价网格: district 6 + street 3 + sequence 3, A/B/C area class."""

    __tablename__ = "eval_grids"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    street_code: Mapped[str] = mapped_column(String(9), ForeignKey("admin_areas.code", onupdate="CASCADE"))
    name: Mapped[str | None] = mapped_column(Text)
    area_class: Mapped[str | None] = mapped_column(CHAR(1))
    area_m2: Mapped[float | None] = mapped_column(Double)
    first_date: Mapped[date | None] = mapped_column(Date)
    change_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    geom = geometry_column("MULTIPOLYGON")


class UnitGrid(Base):
    """单元网格: community 12 + sequence 3."""

    __tablename__ = "unit_grids"
    code: Mapped[str] = mapped_column(String(15), primary_key=True)
    community_code: Mapped[str] = mapped_column(
        String(12), ForeignKey("admin_areas.code", onupdate="CASCADE")
    )
    eval_code: Mapped[str | None] = mapped_column(
        String(12), ForeignKey("eval_grids.code", onupdate="CASCADE", ondelete="SET NULL")
    )
    name: Mapped[str | None] = mapped_column(Text)
    area_m2: Mapped[float | None] = mapped_column(Double)
    or_date: Mapped[date | None] = mapped_column(Date)
    ch_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    geom = geometry_column("MULTIPOLYGON")


class WorkGrid(Base):
    """工作/责任/巡查/养护网格: one model, told apart by `kind`."""

    __tablename__ = "work_grids"
    __table_args__ = (UniqueConstraint("kind", "code", name="work_grids_code_unique"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    street_code: Mapped[str | None] = mapped_column(
        String(9), ForeignKey("admin_areas.code", onupdate="CASCADE")
    )
    assignee: Mapped[str | None] = mapped_column(Text)
    team: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    geom = geometry_column("MULTIPOLYGON")


class Street(Base):
    """街巷 segment with its house-number range (SHousenum–LHousenum)."""

    __tablename__ = "streets"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    str_id: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    alias: Mapped[list[str]] = text_array()
    old_name: Mapped[list[str]] = text_array()
    s_housenum: Mapped[int | None] = mapped_column(Integer)
    l_housenum: Mapped[int | None] = mapped_column(Integer)
    beginning: Mapped[str | None] = mapped_column(Text)
    ending: Mapped[str | None] = mapped_column(Text)
    direction: Mapped[str | None] = mapped_column(Text)
    route_name: Mapped[str | None] = mapped_column(Text)
    district_code: Mapped[str | None] = mapped_column(
        String(6), ForeignKey("admin_areas.code", onupdate="CASCADE")
    )
    street_code: Mapped[str | None] = mapped_column(
        String(9), ForeignKey("admin_areas.code", onupdate="CASCADE")
    )
    data_source: Mapped[str | None] = mapped_column(Text)
    or_date: Mapped[date | None] = mapped_column(Date)
    ch_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    geom = geometry_column("LINESTRING")


class Zone(Base):
    """地片/区片: compounds, zones, courtyards."""

    __tablename__ = "zones"
    zone_id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    alias: Mapped[list[str]] = text_array()
    old_name: Mapped[list[str]] = text_array()
    boundary: Mapped[str | None] = mapped_column(Text)
    subdis_name: Mapped[str | None] = mapped_column(Text)
    subdis_code: Mapped[str | None] = mapped_column(
        String(9), ForeignKey("admin_areas.code", onupdate="CASCADE")
    )
    commu_name: Mapped[str | None] = mapped_column(Text)
    commu_code: Mapped[str | None] = mapped_column(
        String(12), ForeignKey("admin_areas.code", onupdate="CASCADE")
    )
    data_source: Mapped[str | None] = mapped_column(Text)
    or_date: Mapped[date | None] = mapped_column(Date)
    ch_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    geom = geometry_column("MULTIPOLYGON")


class Doorplate(Base):
    """门（楼）牌."""

    __tablename__ = "doorplates"
    add_id: Mapped[str] = mapped_column(Text, primary_key=True)
    add_name: Mapped[str] = mapped_column(Text)
    road_name: Mapped[str | None] = mapped_column(Text)
    zone_name: Mapped[str | None] = mapped_column(Text)
    house_name: Mapped[str | None] = mapped_column(Text)
    house_num: Mapped[int | None] = mapped_column(Integer)
    lane: Mapped[str | None] = mapped_column(Text)
    building: Mapped[str | None] = mapped_column(Text)
    street_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("streets.id", ondelete="SET NULL")
    )
    subdis_name: Mapped[str | None] = mapped_column(Text)
    subdis_code: Mapped[str | None] = mapped_column(
        String(9), ForeignKey("admin_areas.code", onupdate="CASCADE")
    )
    commu_name: Mapped[str | None] = mapped_column(Text)
    commu_code: Mapped[str | None] = mapped_column(
        String(12), ForeignKey("admin_areas.code", onupdate="CASCADE")
    )
    data_source: Mapped[str | None] = mapped_column(Text)
    or_date: Mapped[date | None] = mapped_column(Date)
    ch_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    geom = geometry_column("POINT")
    #: H3 cell (resolution 15) of `geom`, filled by layers.cells; nulled by trigger when geom moves (0006).
    h3_cell: Mapped[int | None] = mapped_column(BigInteger)


class Poi(Base):
    """兴趣点."""

    __tablename__ = "pois"
    poi_id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    old_name: Mapped[list[str]] = text_array()
    alias: Mapped[list[str]] = text_array()
    category: Mapped[str | None] = mapped_column(Text)
    floor: Mapped[str | None] = mapped_column(Text)
    add_name: Mapped[str | None] = mapped_column(Text)
    data_source: Mapped[str | None] = mapped_column(Text)
    or_date: Mapped[date | None] = mapped_column(Date)
    ch_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    geom = geometry_column("POINT")
    #: H3 cell (resolution 15) of `geom`, filled by layers.cells; nulled by trigger when geom moves (0006).
    h3_cell: Mapped[int | None] = mapped_column(BigInteger)


class Category(Base):
    """部件/事件 大类/小类, shipped as data (gis/data/categories.csv)."""

    __tablename__ = "categories"
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    major: Mapped[str] = mapped_column(CHAR(2), primary_key=True)
    minor: Mapped[str] = mapped_column(CHAR(2), primary_key=True)
    major_name: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)


class Component(Base):
    """部件, with its 16-digit 标识码."""

    __tablename__ = "components"
    __table_args__ = (
        ForeignKeyConstraint(
            ["kind", "major", "minor"], ["categories.kind", "categories.major", "categories.minor"],
            name="components_category",
        ),
    )
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(Text, server_default="component")
    major: Mapped[str] = mapped_column(CHAR(2))
    minor: Mapped[str] = mapped_column(CHAR(2))
    name: Mapped[str | None] = mapped_column(Text)
    dept: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    maintainer: Mapped[str | None] = mapped_column(Text)
    unit_grid_code: Mapped[str | None] = mapped_column(
        String(15), ForeignKey("unit_grids.code", onupdate="CASCADE", ondelete="SET NULL")
    )
    status: Mapped[str | None] = mapped_column(Text)
    init_date: Mapped[date | None] = mapped_column(Date)
    change_date: Mapped[date | None] = mapped_column(Date)
    data_source: Mapped[str | None] = mapped_column(Text)
    location_desc: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str | None] = mapped_column(Text)
    scale_denom: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(Text)
    geom = geometry_column("POINT")
    #: H3 cell (resolution 15) of `geom`, filled by layers.cells; nulled by trigger when geom moves (0006).
    h3_cell: Mapped[int | None] = mapped_column(BigInteger)


class WasteFacility(Base):
    """环卫设施 of the kinds of standards.md §4."""

    __tablename__ = "waste_facilities"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str | None] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    district_code: Mapped[str | None] = mapped_column(
        String(6), ForeignKey("admin_areas.code", onupdate="CASCADE")
    )
    unit_grid_code: Mapped[str | None] = mapped_column(
        String(15), ForeignKey("unit_grids.code", onupdate="CASCADE", ondelete="SET NULL")
    )
    capacity_tpd: Mapped[float | None] = mapped_column(Double)
    operator: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    commissioned: Mapped[date | None] = mapped_column(Date)
    attrs: Mapped[Any] = mapped_column(JSONB, server_default="{}")
    coverage = geometry_column("MULTIPOLYGON", nullable=True)
    geom = geometry_column("POINT")
    #: H3 cell (resolution 15) of `geom`, filled by layers.cells; nulled by trigger when geom moves (0006).
    h3_cell: Mapped[int | None] = mapped_column(BigInteger)


class Vehicle(Base):
    __tablename__ = "vehicles"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    plate: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    vehicle_group: Mapped[str | None] = mapped_column(Text)
    district_code: Mapped[str | None] = mapped_column(
        String(6), ForeignKey("admin_areas.code", onupdate="CASCADE")
    )
    operator: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    signal_timeout_s: Mapped[float | None] = mapped_column(Double)


class Route(Base):
    __tablename__ = "routes"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text, server_default="regular")
    vehicle_id: Mapped[str | None] = mapped_column(Text, ForeignKey("vehicles.id", ondelete="SET NULL"))
    stops: Mapped[Any] = mapped_column(JSONB, server_default="[]")
    length_m: Mapped[float | None] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    geom = geometry_column("LINESTRING")


class Fence(Base):
    __tablename__ = "fences"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    buffer_m: Mapped[float | None] = mapped_column(Double)
    radius_m: Mapped[float | None] = mapped_column(Double)
    speed_limit_kmh: Mapped[float | None] = mapped_column(Double)
    dwell_limit_s: Mapped[float | None] = mapped_column(Double)
    dwell_s: Mapped[float | None] = mapped_column(Double)
    signal_timeout_s: Mapped[float | None] = mapped_column(Double)
    vehicles: Mapped[list[str]] = text_array()
    vehicle_groups: Mapped[list[str]] = text_array()
    alarm_kind: Mapped[str | None] = mapped_column(Text)
    schedule: Mapped[Any | None] = mapped_column(JSONB)
    windows: Mapped[Any | None] = mapped_column(JSONB)
    debounce: Mapped[Any | None] = mapped_column(JSONB)
    route_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("routes.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    geom = geometry_column("GEOMETRY")
    zone = geometry_column("MULTIPOLYGON", nullable=True)


class Position(Base):
    """A GPS fix. The table is range-partitioned by `ts` (see positions_ensure_partition)."""

    __tablename__ = "positions"
    vehicle_id: Mapped[str] = mapped_column(Text, primary_key=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    geom = geometry_column("POINT")
    speed_kmh: Mapped[float | None] = mapped_column(REAL)
    heading: Mapped[float | None] = mapped_column(REAL)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Alarm(Base):
    __tablename__ = "alarms"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, ForeignKey("alarm_kinds.kind", name="alarms_kind_fk"))
    vehicle_id: Mapped[str] = mapped_column(Text, ForeignKey("vehicles.id", ondelete="CASCADE"))
    fence_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("fences.id", ondelete="SET NULL"))
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    max_value: Mapped[float | None] = mapped_column(Double)
    details: Mapped[Any] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    geom = geometry_column("POINT", nullable=True)


class AlarmKind(Base):
    """The published alarm kinds with their Chinese labels (migration 0005)."""

    __tablename__ = "alarm_kinds"
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    label_zh: Mapped[str] = mapped_column(Text)
    label_en: Mapped[str] = mapped_column(Text)
    sort: Mapped[int] = mapped_column(SmallInteger)


class AlarmEvent(Base):
    """The alarm feed: its id is the SSE event id (Last-Event-ID reconnect)."""

    __tablename__ = "alarm_events"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    alarm_id: Mapped[int] = mapped_column(BigInteger)
    op: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    payload: Mapped[Any] = mapped_column(JSONB)


class FenceVehicleState(Base):
    """Per-vehicle evaluation watermark: in-memory engine state is valid while its seq is here."""

    __tablename__ = "fence_vehicle_state"
    vehicle_id: Mapped[str] = mapped_column(Text, ForeignKey("vehicles.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    last_ts: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RouteEdge(Base):
    """The routable street network (pgRouting edges), noded at intersections, built from `streets`."""

    __tablename__ = "route_edges"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    street_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("streets.id", ondelete="CASCADE"))
    source: Mapped[int] = mapped_column(BigInteger)
    target: Mapped[int] = mapped_column(BigInteger)
    cost: Mapped[float] = mapped_column(Double)
    reverse_cost: Mapped[float] = mapped_column(Double)
    geom = geometry_column("LINESTRING")


class RouteVertex(Base):
    __tablename__ = "route_vertices"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    geom = geometry_column("POINT")


class RouteGraphMeta(Base):
    __tablename__ = "route_graph_meta"
    id: Mapped[int] = mapped_column(SmallInteger, CheckConstraint("id = 1"), primary_key=True, server_default="1")
    streets_count: Mapped[int] = mapped_column(BigInteger)
    streets_max_id: Mapped[int | None] = mapped_column(BigInteger)
    built_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Case(Base):
    """案件: an event (or component problem) reported at a point."""

    __tablename__ = "cases"
    __table_args__ = (
        ForeignKeyConstraint(
            ["kind", "major", "minor"], ["categories.kind", "categories.major", "categories.minor"],
            name="cases_category",
        ),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str | None] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text, server_default="event")
    major: Mapped[str] = mapped_column(CHAR(2))
    minor: Mapped[str] = mapped_column(CHAR(2))
    source: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    reporter: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="open")
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unit_grid_code: Mapped[str | None] = mapped_column(
        String(15), ForeignKey("unit_grids.code", onupdate="CASCADE", ondelete="SET NULL")
    )
    weight: Mapped[float] = mapped_column(Double, server_default="1")
    geom = geometry_column("POINT")
    #: H3 cell (resolution 15) of `geom`, filled by layers.cells; nulled by trigger when geom moves (0006).
    h3_cell: Mapped[int | None] = mapped_column(BigInteger)


class WasteRecord(Base):
    """A weighed collection: generator, facility, vehicle, tonnes."""

    __tablename__ = "waste_records"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    waste_kind: Mapped[str] = mapped_column(Text)
    tonnes: Mapped[float] = mapped_column(Double, CheckConstraint("tonnes >= 0"))
    source_poi_id: Mapped[str | None] = mapped_column(Text, ForeignKey("pois.poi_id", ondelete="SET NULL"))
    facility_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("waste_facilities.id", ondelete="SET NULL")
    )
    vehicle_id: Mapped[str | None] = mapped_column(Text, ForeignKey("vehicles.id", ondelete="SET NULL"))
    geom = geometry_column("POINT")
    #: H3 cell (resolution 15) of `geom`, filled by layers.cells; nulled by trigger when geom moves (0006).
    h3_cell: Mapped[int | None] = mapped_column(BigInteger)


class EvalDraw(Base):
    __tablename__ = "eval_draws"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    drawn_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str | None] = mapped_column(Text)
    city_class: Mapped[int] = mapped_column(SmallInteger)
    seed: Mapped[int] = mapped_column(BigInteger)
    result: Mapped[Any] = mapped_column(JSONB)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(Text, unique=True)
    prefix: Mapped[str] = mapped_column(Text)
    vehicles: Mapped[list[str]] = text_array()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Append-only, hash-chained (a trigger refuses UPDATE, DELETE and TRUNCATE)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    ids: Mapped[list[str]] = text_array()
    remote: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[Any] = mapped_column(JSONB, server_default="{}")
    prev_hash: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(Text)


class GeocoderRefVersion(Base):
    """One row: bumped by triggers on the geocoding reference tables (0003_geocoder.sql)."""

    __tablename__ = "geocoder_ref_version"
    id: Mapped[int] = mapped_column(SmallInteger, CheckConstraint("id = 1"), primary_key=True,
                                    server_default="1")
    version: Mapped[int] = mapped_column(BigInteger, server_default="0")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class GridChange(Base):
    """One changed grid row (migration 0002): its version drives the locate index and mobile sync."""

    __tablename__ = "grid_changes"
    __table_args__ = (
        CheckConstraint("layer IN ('admin', 'unit', 'eval', 'work')", name="grid_changes_layer"),
        CheckConstraint("op IN ('insert', 'update', 'delete', 'truncate')", name="grid_changes_op"),
    )
    version: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer: Mapped[str] = mapped_column(Text)
    key: Mapped[str | None] = mapped_column(Text)
    op: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CodeSequence(Base):
    """Last sequence number handed out per code kind and parent (migration 0002)."""

    __tablename__ = "code_sequences"
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    parent: Mapped[str] = mapped_column(Text, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)


class OgcChange(Base):
    """Change counter per published table (migration 0004): invalidates the OGC API's caches."""

    __tablename__ = "ogc_changes"
    table_name: Mapped[str] = mapped_column(Text, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, server_default="0")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HeatRollup(Base):
    """Points and weight per table, part, UTC month and resolution-8 H3 cell (migration 0007), for heat."""

    __tablename__ = "heat_rollup"
    tbl: Mapped[str] = mapped_column(Text, primary_key=True)
    cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    part: Mapped[str] = mapped_column(Text, primary_key=True)
    period: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
    w: Mapped[float] = mapped_column(Double)


class Scene(Base):
    """A named bundle of layers, filters, basemap and view (migration 0008): 一图N景 of the web map."""

    __tablename__ = "scenes"
    __table_args__ = (CheckConstraint("slug ~ '^[a-z0-9][a-z0-9_-]{0,62}$'", name="scenes_slug_format"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    slug: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    department: Mapped[str | None] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
    created_by: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CaseStatsZone(Base):
    """The time zone whose local days the case statistics rollup counts (migration 0008)."""

    __tablename__ = "case_stats_zone"
    __table_args__ = (CheckConstraint("id", name="case_stats_zone_one"),)
    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default="true")
    tz: Mapped[str] = mapped_column(Text)


class CaseStatsRollup(Base):
    """Cases per dimension, local day and value (migration 0008), kept by triggers; read by layers/stats."""

    __tablename__ = "case_stats_rollup"
    dim: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    val: Mapped[str] = mapped_column(Text, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
