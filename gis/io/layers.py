"""What each importable layer looks like: its table, geometry, key, and the fields a file may carry.

One `LayerSpec` per layer. Field names in files are matched case-insensitively, ignoring `_`, `-` and
spaces, against each field's `sources`: the geocoding layers list the GB/T 30428.3 property names first
(standards.md §3: AddName, AddID, Alias, OldName, SHousenum, ORDate …) — export writes those names, so an
export imports back unchanged; the other layers use the column names of gis/db/sql/0001_core.sql, plus
the Chinese labels of the source documents (e.g. 标识码/名称 for components).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: Field value types. `code` is a digit string (leading zeros matter), `textarr` a text[] written in
#: files as `{a/b/c}` (GB/T 30428.3 Alias/OldName), `json` a jsonb object, `wkt` a second geometry.
FIELD_TYPES = ("text", "code", "int", "float", "date", "timestamp", "textarr", "json", "wkt")

PG_TYPES = {
    "text": "text", "code": "text", "int": "bigint", "float": "double precision", "date": "date",
    "timestamp": "timestamptz", "textarr": "text[]", "json": "jsonb", "wkt": "geometry",
}

WORK_GRID_KINDS = {
    "work": ("工作网格",), "responsibility": ("责任网格",), "sanitation_patrol": ("环卫巡查网格",),
    "greening_maintenance": ("环卫绿化养护区域网格", "绿化养护网格", "养护区域网格"),
    "enforcement_patrol": ("城管执法巡查网格", "执法巡查网格"),
    "cityscape_responsibility": ("市容环境卫生责任网格", "市容环卫责任网格"),
}
WASTE_KINDS = {
    "drop_point": ("投放点",), "collection_point": ("收集点",), "collection_station": ("收集站",),
    "compactor_station": ("小压站",), "transfer_station": ("中转站",), "recyclables_point": ("可回收物服务点",),
    "hazardous_store": ("有害垃圾暂存点",), "public_toilet": ("公共厕所", "公厕"),
    "kitchen_waste_plant": ("湿垃圾处理厂", "厨余处理厂", "厨余垃圾处理厂"), "incinerator": ("焚烧厂",),
    "landfill": ("填埋场",), "disposal_terminal": ("处置终端",),
}
VEHICLE_KINDS = {
    "household_waste": ("生活垃圾车",), "kitchen_waste": ("餐厨垃圾车", "厨余垃圾车"), "muck": ("渣土车",),
    "enforcement": ("执法车",), "sweeper": ("清扫车",), "phone": ("手机",), "body_camera": ("执法记录仪",),
}


@dataclass(frozen=True)
class Field:
    column: str
    type: str = "text"
    sources: tuple[str, ...] = ()      # names accepted in files, the export name first
    required: bool = False
    #: Allowed values (canonical -> accepted synonyms); other values are rejected with the list.
    choices: dict[str, tuple[str, ...]] | None = None

    @property
    def export_name(self) -> str:
        return self.sources[0] if self.sources else self.column

    def accepted_names(self) -> tuple[str, ...]:
        return (*self.sources, self.column)


@dataclass(frozen=True)
class LayerSpec:
    name: str
    table: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]                     # columns identifying a feature (duplicate checks)
    geometry: str | None = "Point"           # Point, LineString, MultiPolygon, or None (attribute table)
    gbt: bool = False                        # a GB/T 30428.3 geocoding layer: export uses those names
    extra_json: str | None = None            # unmapped file fields go into this jsonb column
    fixed: dict[str, str] = field(default_factory=dict)   # constant columns (components.kind)

    def get_field(self, column: str) -> Field:
        for f in self.fields:
            if f.column == column:
                return f
        raise KeyError(column)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.column for f in self.fields)

    @property
    def id_column(self) -> str:
        return self.key[-1]


def norm(name: str) -> str:
    """The form field names are compared in: lower case without `_`, `-`, spaces."""
    return re.sub(r"[\s_\-]", "", str(name)).lower()


def _f(column: str, type_: str = "text", *sources: str, required: bool = False, choices=None) -> Field:
    return Field(column, type_, tuple(sources), required, choices)


_DATES_GBT = (
    _f("data_source", "text", "DataSource", "数据来源"),
    _f("or_date", "date", "ORDate", "初始时间", "设立时间"),
    _f("ch_date", "date", "CHDate", "变更时间"),
    _f("note", "text", "Note", "备注"),
)

LAYERS: dict[str, LayerSpec] = {}


def _add(spec: LayerSpec, *aliases: str) -> None:
    LAYERS[spec.name] = spec
    for a in aliases:
        LAYERS[a] = spec


_add(LayerSpec(
    "admin_areas", "admin_areas", geometry="MultiPolygon", gbt=True, key=("code",),
    fields=(
        _f("code", "code", "AddID", "区划代码", "行政区划代码", "代码", required=True),
        _f("name", "text", "AddName", "名称", "区划名称", required=True),
        _f("level", "text", "Level", "级别", choices={
            "district": ("区", "县", "区县", "区/县"), "street": ("街道", "镇", "乡", "街道/镇/乡"),
            "community": ("社区", "村", "社区/村")}),
        _f("parent_code", "code", "ParentCode", "上级代码"),
        _f("alias", "textarr", "Alias", "别名"),
        _f("old_name", "textarr", "OldName", "曾用名"),
        *_DATES_GBT,
        _f("area_m2", "float", "Area", "面积"),
    ),
), "regions")

_add(LayerSpec(
    "unit_grids", "unit_grids", geometry="MultiPolygon", key=("code",),
    fields=(
        _f("code", "code", "code", "AddID", "网格编码", "单元网格编码", "编码", required=True),
        _f("community_code", "code", "community_code", "CommuCode", "社区编码"),
        _f("eval_code", "code", "eval_code", "评价网格编码"),
        _f("name", "text", "name", "AddName", "名称"),
        _f("area_m2", "float", "area_m2", "面积"),
        _f("or_date", "date", "or_date", "ORDate", "初始时间"),
        _f("ch_date", "date", "ch_date", "CHDate", "变更时间"),
        _f("note", "text", "note", "Note", "备注"),
    ),
))

_add(LayerSpec(
    "eval_grids", "eval_grids", geometry="MultiPolygon", key=("code",),
    fields=(
        _f("code", "code", "code", "评价网格编码", "编码", required=True),
        _f("street_code", "code", "street_code", "SubDisCode", "街道编码"),
        _f("name", "text", "name", "名称"),
        _f("area_class", "text", "area_class", "类型", "区域类型", choices={"A": (), "B": (), "C": ()}),
        _f("area_m2", "float", "area_m2", "面积"),
        _f("first_date", "date", "first_date", "初次划分时间", "初始时间"),
        _f("change_date", "date", "change_date", "变更时间"),
        _f("note", "text", "note", "备注"),
    ),
))

_add(LayerSpec(
    "work_grids", "work_grids", geometry="MultiPolygon", key=("kind", "code"),
    fields=(
        _f("code", "text", "code", "编码", required=True),
        _f("kind", "text", "kind", "类型", "网格类型", required=True, choices=WORK_GRID_KINDS),
        _f("name", "text", "name", "名称", required=True),
        _f("street_code", "code", "street_code", "SubDisCode", "街道编码"),
        _f("assignee", "text", "assignee", "责任人"),
        _f("team", "text", "team", "班组", "责任单位"),
        _f("note", "text", "note", "备注"),
    ),
))

_add(LayerSpec(
    "streets", "streets", geometry="LineString", gbt=True, key=("str_id",),
    fields=(
        _f("str_id", "text", "StrID", "街巷编码", required=True),
        _f("name", "text", "StrName", "街巷名称", "名称", required=True),
        _f("alias", "textarr", "Alias", "别名"),
        _f("old_name", "textarr", "OldName", "曾用名"),
        _f("s_housenum", "int", "SHousenum", "最小门牌号"),
        _f("l_housenum", "int", "LHousenum", "最大门牌号"),
        _f("beginning", "text", "Beginning", "起点"),
        _f("ending", "text", "Ending", "止点"),
        _f("direction", "text", "Direction", "走向"),
        _f("route_name", "text", "RouteName", "路线名称"),
        _f("district_code", "code", "DisCode", "区县编码"),
        _f("street_code", "code", "SubDisCode", "街道编码"),
        *_DATES_GBT,
    ),
))

_add(LayerSpec(
    "zones", "zones", geometry="MultiPolygon", gbt=True, key=("zone_id",),
    fields=(
        _f("zone_id", "text", "ZoneID", "编码", required=True),
        _f("name", "text", "ZoneName", "名称", required=True),
        _f("alias", "textarr", "Alias", "别名"),
        _f("old_name", "textarr", "OldName", "曾用名"),
        _f("boundary", "text", "Boundary", "四至"),
        _f("subdis_name", "text", "SubDisName", "街道名称"),
        _f("subdis_code", "code", "SubDisCode", "街道编码"),
        _f("commu_name", "text", "CommuName", "社区名称"),
        _f("commu_code", "code", "CommuCode", "社区编码"),
        *_DATES_GBT,
    ),
))

_add(LayerSpec(
    "doorplates", "doorplates", geometry="Point", gbt=True, key=("add_id",),
    fields=(
        _f("add_id", "text", "AddID", "编码", required=True),
        _f("add_name", "text", "AddName", "门牌地址", "地址", required=True),
        _f("road_name", "text", "RoadName", "街路巷名"),
        _f("zone_name", "text", "ZoneName", "小区名称"),
        _f("house_name", "text", "HouseName", "门牌号"),
        _f("house_num", "int", "HouseNum"),
        _f("lane", "text", "Lane", "弄"),
        _f("building", "text", "Building", "楼牌"),
        _f("subdis_name", "text", "SubDisName", "街道名称"),
        _f("subdis_code", "code", "SubDisCode", "街道编码"),
        _f("commu_name", "text", "CommuName", "社区名称"),
        _f("commu_code", "code", "CommuCode", "社区编码"),
        *_DATES_GBT,
    ),
))

_add(LayerSpec(
    "pois", "pois", geometry="Point", gbt=True, key=("poi_id",),
    fields=(
        _f("poi_id", "text", "POIID", "编码", required=True),
        _f("name", "text", "POIName", "名称", required=True),
        _f("old_name", "textarr", "OldName", "曾用名"),
        _f("alias", "textarr", "Alias", "别名"),
        _f("category", "text", "Category", "类别"),
        _f("floor", "text", "Floor", "楼层"),
        _f("add_name", "text", "AddName", "门牌地址"),
        *_DATES_GBT,
    ),
))

_add(LayerSpec(
    "components", "components", geometry="Point", key=("id",), fixed={"kind": "component"},
    fields=(
        _f("id", "code", "id", "标识码", "BSM", required=True),
        _f("major", "code", "major", "大类"),
        _f("minor", "code", "minor", "小类"),
        _f("name", "text", "name", "名称", "部件名称"),
        _f("dept", "text", "dept", "主管部门"),
        _f("owner", "text", "owner", "权属单位"),
        _f("maintainer", "text", "maintainer", "养护单位"),
        _f("unit_grid_code", "code", "unit_grid_code", "所在单元网格", "单元网格"),
        _f("status", "text", "status", "状态", "部件状态"),
        _f("init_date", "date", "init_date", "初始时间"),
        _f("change_date", "date", "change_date", "变更时间"),
        _f("data_source", "text", "data_source", "数据来源"),
        _f("location_desc", "text", "location_desc", "位置描述"),
        _f("currency", "text", "currency", "现势性"),
        _f("scale_denom", "int", "scale_denom", "源比例尺分母"),
        _f("note", "text", "note", "备注"),
        _f("photo", "text", "photo", "照片"),
    ),
))

_add(LayerSpec(
    "waste_facilities", "waste_facilities", geometry="Point", key=("code",), extra_json="attrs",
    fields=(
        _f("code", "text", "code", "编码"),
        _f("name", "text", "name", "名称", required=True),
        _f("kind", "text", "kind", "设施类型", "类型", required=True, choices=WASTE_KINDS),
        _f("address", "text", "address", "地址"),
        _f("district_code", "code", "district_code", "区县编码"),
        _f("unit_grid_code", "code", "unit_grid_code", "所在单元网格"),
        _f("capacity_tpd", "float", "capacity_tpd", "RJLJSJL", "设计规模"),
        _f("operator", "text", "operator", "运营单位", "权属单位"),
        _f("contact", "text", "contact", "联系方式"),
        _f("commissioned", "date", "commissioned", "投运日期"),
        _f("attrs", "json", "attrs"),
        _f("coverage", "wkt", "coverage", "覆盖范围"),   # a (Multi)Polygon as WKT, in the file's CRS
    ),
))

_add(LayerSpec(
    "cases", "cases", geometry="Point", key=("code",),
    fields=(
        _f("code", "text", "code", "案件编号"),
        _f("kind", "text", "kind", choices={"event": ("事件",), "component": ("部件",)}),
        _f("major", "code", "major", "大类", required=True),
        _f("minor", "code", "minor", "小类", required=True),
        _f("source", "text", "source", "来源"),
        _f("description", "text", "description", "描述", "问题描述"),
        _f("address", "text", "address", "地址"),
        _f("reporter", "text", "reporter", "上报人"),
        _f("status", "text", "status", "状态"),
        _f("reported_at", "timestamp", "reported_at", "上报时间", required=True),
        _f("closed_at", "timestamp", "closed_at", "结案时间"),
        _f("unit_grid_code", "code", "unit_grid_code", "所在单元网格"),
        _f("weight", "float", "weight", "权重"),
    ),
))

_add(LayerSpec(
    "vehicles", "vehicles", geometry=None, key=("id",),
    fields=(
        _f("id", "text", "id", "终端编号", "车辆编号", required=True),
        _f("plate", "text", "plate", "车牌号"),
        _f("kind", "text", "kind", "类型", required=True, choices=VEHICLE_KINDS),
        _f("vehicle_group", "text", "vehicle_group", "group", "分组"),
        _f("district_code", "code", "district_code", "区县编码"),
        _f("operator", "text", "operator", "运营单位"),
        _f("note", "text", "note", "备注"),
    ),
))

LAYER_NAMES = tuple(sorted({s.name for s in LAYERS.values()}))


def get_layer(name: str) -> LayerSpec:
    from gis.errors import InvalidInput

    spec = LAYERS.get(name.strip().lower())
    if spec is None:
        raise InvalidInput(f"unknown layer {name!r}: use one of {', '.join(LAYER_NAMES)} (or regions)")
    return spec
