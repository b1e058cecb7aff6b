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
    Computed,
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


class FleetArea(Base):
    """An area a fleet (vehicles.vehicle_group) works in: its vehicles and alarms belong there (0015)."""

    __tablename__ = "fleet_areas"
    fleet: Mapped[str] = mapped_column(Text, primary_key=True)
    area_code: Mapped[str] = mapped_column(
        String(12), ForeignKey("admin_areas.code", onupdate="CASCADE", ondelete="CASCADE"), primary_key=True
    )


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
    # Partitioned by start (migration 0017): a partitioned table's key must carry the partition key.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[str] = mapped_column(Text, ForeignKey("alarm_kinds.kind", name="alarms_kind_fk"))
    vehicle_id: Mapped[str] = mapped_column(Text, ForeignKey("vehicles.id", ondelete="CASCADE"))
    fence_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("fences.id", ondelete="SET NULL"))
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
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


class FenceStreamOffset(Base):
    """Broker mode (migration 0008): a fix-stream partition's last committed entry and its alarm events,
    written in the same transaction as the fixes and alarms (exactly-once on re-delivery)."""

    __tablename__ = "fence_stream_offsets"
    epoch: Mapped[str] = mapped_column(Text, primary_key=True)
    stream: Mapped[str] = mapped_column(Text, primary_key=True)
    entry_id: Mapped[str] = mapped_column(Text)
    event_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), server_default="{}")
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
    area: Mapped[str | None] = mapped_column(Text)  # region or work-grid code the key is limited to (0015)
    app: Mapped[str | None] = mapped_column(Text)  # the application using the key (NULL: its name), 0016


class User(Base):
    """A person's account (migration 0016): local (argon2id password) or made by single sign-on."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IN ('viewer', 'inspector', 'planner', 'admin')", name="users_role"),
        CheckConstraint("source IN ('local', 'oidc')", name="users_source"),
        CheckConstraint("source <> 'local' OR password_hash IS NOT NULL", name="users_local_has_password"),
    )
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    role: Mapped[str] = mapped_column(Text)
    area: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text, server_default="local")
    password_hash: Mapped[str | None] = mapped_column(Text)
    failed_count: Mapped[int] = mapped_column(Integer, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginSession(Base):
    """A login session (0016), keyed by the SHA-256 of its cookie; its CSRF token; its times."""

    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"))
    csrf: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    remote: Mapped[str | None] = mapped_column(Text)
    user_agent: Mapped[str | None] = mapped_column(Text)


class OidcPending(Base):
    """A single sign-on in flight (0016): state → PKCE verifier and nonce, consumed by the callback."""

    __tablename__ = "oidc_pending"
    state: Mapped[str] = mapped_column(Text, primary_key=True)
    verifier: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str] = mapped_column(Text)
    return_to: Mapped[str] = mapped_column(Text, server_default="/")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AppCalls(Base):
    """Calls per application, route template and day (0016), added to in batches by the server."""

    __tablename__ = "app_calls"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    app: Mapped[str] = mapped_column(Text, primary_key=True)
    route: Mapped[str] = mapped_column(Text, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, server_default="0")


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
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="0")  # stripe (0013)
    version: Mapped[int] = mapped_column(BigInteger, server_default="0")
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class HeatRollup(Base):
    """Points and weight per table, part, UTC month and resolution-8 H3 cell (migration 0007), for heat."""

    __tablename__ = "heat_rollup"
    tbl: Mapped[str] = mapped_column(Text, primary_key=True)
    cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    part: Mapped[str] = mapped_column(Text, primary_key=True)
    period: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="0")  # stripe (0013)
    n: Mapped[int] = mapped_column(BigInteger)
    w: Mapped[float] = mapped_column(Double)


class Camera(Base):
    """监控点位: one GB/T 28181 video channel (migration 0010); `sector` is derived from the view fields."""

    __tablename__ = "cameras"
    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    device_code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    direction_deg: Mapped[float] = mapped_column(Double, server_default="0")
    fov_deg: Mapped[float] = mapped_column(Double, server_default="60")
    range_m: Mapped[float] = mapped_column(Double, server_default="50")
    state: Mapped[str] = mapped_column(Text, server_default="online")
    last_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stream_url: Mapped[str | None] = mapped_column(Text)
    rtsp_url: Mapped[str | None] = mapped_column(Text)
    snapshot_url: Mapped[str | None] = mapped_column(Text)
    watches_kind: Mapped[str | None] = mapped_column(Text)
    watches_ref: Mapped[str | None] = mapped_column(Text)
    unit_grid_code: Mapped[str | None] = mapped_column(
        String(15), ForeignKey("unit_grids.code", onupdate="CASCADE", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(Text)
    geom = geometry_column("POINT")
    sector = mapped_column(Geometry("POLYGON", srid=STORAGE_SRID, spatial_index=False),
                           Computed("camera_sector(geom, direction_deg, fov_deg, range_m)"), nullable=True)


class Device(Base):
    """物联感知 device with its latest state (migration 0010)."""

    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    facility_code: Mapped[str | None] = mapped_column(Text)
    unit_grid_code: Mapped[str | None] = mapped_column(
        String(15), ForeignKey("unit_grids.code", onupdate="CASCADE", ondelete="SET NULL")
    )
    offline_after_s: Mapped[float | None] = mapped_column(Double)
    note: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(Text, server_default="unknown")
    last_ts: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_values: Mapped[Any] = mapped_column(JSONB, server_default="{}")
    geom = geometry_column("POINT")


class DeviceThreshold(Base):
    __tablename__ = "device_thresholds"
    kind: Mapped[str] = mapped_column(Text, primary_key=True)
    metric: Mapped[str] = mapped_column(Text, primary_key=True)
    alarm_kind: Mapped[str] = mapped_column(Text)
    on_value: Mapped[float] = mapped_column(Double)
    off_value: Mapped[float] = mapped_column(Double)
    debounce_n: Mapped[int] = mapped_column(Integer, server_default="2")
    unit: Mapped[str | None] = mapped_column(Text)


class DeviceReading(Base):
    __tablename__ = "device_readings"
    device_id: Mapped[str] = mapped_column(Text, ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    metric: Mapped[str] = mapped_column(Text, primary_key=True)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    value: Mapped[float] = mapped_column(Double)


class DeviceMetricState(Base):
    __tablename__ = "device_metric_state"
    device_id: Mapped[str] = mapped_column(Text, ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    metric: Mapped[str] = mapped_column(Text, primary_key=True)
    above_n: Mapped[int] = mapped_column(Integer, server_default="0")
    below_n: Mapped[int] = mapped_column(Integer, server_default="0")
    run_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    run_max: Mapped[float | None] = mapped_column(Double)
    alarm_id: Mapped[int | None] = mapped_column(BigInteger)
    last_ts: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeviceAlarm(Base):
    """满溢/位移/倾斜/超标/离线 of a device (migration 0010); events share alarm_events."""

    __tablename__ = "device_alarms"
    __table_args__ = (UniqueConstraint("device_id", "kind", "metric", "start", name="device_alarms_identity"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    device_id: Mapped[str] = mapped_column(Text, ForeignKey("devices.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(Text)
    metric: Mapped[str] = mapped_column(Text, server_default="")
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    max_value: Mapped[float | None] = mapped_column(Double)
    details: Mapped[Any] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    geom = geometry_column("POINT", nullable=True)
# -- issue 16: street shops, construction waste, evaluation sample points (migration 0011) ---------------


class Shop(Base):
    """沿街商铺: registered from lists, placed by address; `area_id` is its 市容环境卫生责任区 (trigger)."""

    __tablename__ = "shops"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    business: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    street_code: Mapped[str | None] = mapped_column(String(9), ForeignKey("admin_areas.code", onupdate="CASCADE"))
    #: Derived by triggers (no foreign key: work grids are reloaded with TRUNCATE).
    area_id: Mapped[int | None] = mapped_column(BigInteger)
    match_level: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(
        REAL, CheckConstraint("confidence IS NULL OR confidence BETWEEN 0 AND 1"))
    registered: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    geom = geometry_column("POINT")
    h3_cell: Mapped[int | None] = mapped_column(BigInteger)


class ShopCollection(Base):
    """收运记录 of a shop (position copied from the shop: the heat of collected weight)."""

    __tablename__ = "shop_collections"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("shops.id", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    collector: Mapped[str | None] = mapped_column(Text)
    vehicle_id: Mapped[str | None] = mapped_column(Text, ForeignKey("vehicles.id", ondelete="SET NULL"))
    waste_kind: Mapped[str] = mapped_column(Text)
    weight_kg: Mapped[float] = mapped_column(Double, CheckConstraint("weight_kg >= 0"))
    geom = geometry_column("POINT")
    h3_cell: Mapped[int | None] = mapped_column(BigInteger)


class ShopEvaluation(Base):
    """评价记录 of a shop: pass (合格), warn (基本合格), fail (不合格)."""

    __tablename__ = "shop_evaluations"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    shop_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("shops.id", ondelete="CASCADE"))
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    inspector: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)


class CwSite(Base):
    """建筑垃圾 places: 工地 (permit period, registered 消纳场), 消纳场/卸点, 码头, 中转调配厂, 停车场."""

    __tablename__ = "cw_sites"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    operator: Mapped[str | None] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(Text)
    permit_from: Mapped[date | None] = mapped_column(Date)
    permit_to: Mapped[date | None] = mapped_column(Date)
    disposal_code: Mapped[str | None] = mapped_column(Text)
    gate_m: Mapped[float] = mapped_column(Double, server_default="150")
    area = geometry_column("MULTIPOLYGON", nullable=True)
    geom = geometry_column("POINT")


class MuckPermit(Base):
    """核准 permit: a truck, its site, its disposal site, the registered route and the corridor fence."""

    __tablename__ = "muck_permits"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    vehicle_id: Mapped[str] = mapped_column(Text, ForeignKey("vehicles.id", ondelete="CASCADE"))
    site_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cw_sites.id", ondelete="CASCADE"))
    disposal_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("cw_sites.id", ondelete="CASCADE"))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    corridor_m: Mapped[float] = mapped_column(Double, server_default="60")
    fence_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("fences.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    route = geometry_column("LINESTRING")


class EvalSamplePoint(Base):
    """评价样本点位 of the fourteen kinds: a point with a check-in radius, or an area."""

    __tablename__ = "eval_sample_points"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    street_code: Mapped[str | None] = mapped_column(String(9), ForeignKey("admin_areas.code", onupdate="CASCADE"))
    address: Mapped[str | None] = mapped_column(Text)
    radius_m: Mapped[float] = mapped_column(Double, server_default="50")
    note: Mapped[str | None] = mapped_column(Text)
    area = geometry_column("MULTIPOLYGON", nullable=True)
    geom = geometry_column("POINT")


class EvalSampleDraw(Base):
    __tablename__ = "eval_sample_draws"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    drawn_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str | None] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(BigInteger)
    request: Mapped[Any] = mapped_column(JSONB)
    result: Mapped[Any] = mapped_column(JSONB)


class EvalSampleAssignment(Base):
    __tablename__ = "eval_sample_assignments"
    __table_args__ = (UniqueConstraint("draw_id", "point_id", name="eval_sample_assignments_unique"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    draw_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("eval_sample_draws.id", ondelete="CASCADE"))
    point_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("eval_sample_points.id", ondelete="CASCADE"))
    inspector: Mapped[str] = mapped_column(Text)
    assigned_by: Mapped[str | None] = mapped_column(Text)
    assigned_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EvalSampleCheckin(Base):
    __tablename__ = "eval_sample_checkins"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    point_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("eval_sample_points.id", ondelete="CASCADE"))
    inspector: Mapped[str | None] = mapped_column(Text)
    ts: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    inside: Mapped[bool] = mapped_column(Boolean)
    distance_m: Mapped[float] = mapped_column(Double)
    crs: Mapped[str | None] = mapped_column(Text)
    geom = geometry_column("POINT")
class OgcJob(Base):
    """An OGC API – Processes job (migration 0012): kept so that status and results survive a restart."""

    __tablename__ = "ogc_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('accepted', 'running', 'successful', 'failed', 'dismissed')",
                        name="ogc_jobs_status"),
        CheckConstraint("progress BETWEEN 0 AND 100", name="ogc_jobs_progress"),
    )
    job_id: Mapped[str] = mapped_column(Text, primary_key=True)
    process_id: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, server_default="accepted")
    message: Mapped[str | None] = mapped_column(Text)
    progress: Mapped[int] = mapped_column(Integer, server_default="0")
    inputs: Mapped[Any] = mapped_column(JSONB)
    results: Mapped[Any | None] = mapped_column(JSONB)
    owner: Mapped[str | None] = mapped_column(Text)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookSubscription(Base):
    """A webhook receiving the alarm events (migration 0012); its cursor makes delivery resumable."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (CheckConstraint("url ~ '^https?://'", name="webhook_subscriptions_url"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)
    kinds: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    vehicles: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    last_event_id: Mapped[int] = mapped_column(BigInteger, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered: Mapped[int] = mapped_column(BigInteger, server_default="0")
    failures: Mapped[int] = mapped_column(BigInteger, server_default="0")
    dead: Mapped[int] = mapped_column(BigInteger, server_default="0")
    last_latency_ms: Mapped[float | None] = mapped_column(Double)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookDeadLetter(Base):
    """An alarm event a subscription gave up on (after `webhook_max_age_s` of failures)."""

    __tablename__ = "webhook_dead_letters"
    subscription_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
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
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="0")  # stripe (0013)
    n: Mapped[int] = mapped_column(BigInteger)


class GeocodedPoint(Base):
    """One placed row of a batch-geocoding upload kept as the named layer `layer` (migration 0014)."""

    __tablename__ = "geocoded_points"
    __table_args__ = (UniqueConstraint("layer", "row_no", name="geocoded_points_row_unique"),)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer: Mapped[str] = mapped_column(Text)
    row_no: Mapped[int] = mapped_column(Integer)
    query: Mapped[str | None] = mapped_column(Text)
    standard_address: Mapped[str | None] = mapped_column(Text)
    match_level: Mapped[str | None] = mapped_column(Text)
    confidence: Mapped[float | None] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    geom = geometry_column("POINT")
