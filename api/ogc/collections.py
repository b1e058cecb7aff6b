"""The published collections of the OGC API, as configuration.

Adding a layer is adding an entry to `COLLECTIONS`: where its rows come from (a table, or a
parenthesised query), its id and geometry columns, a Chinese title and description, its properties
(each a SQL expression over the row alias `t`, with a JSON type and a title), its temporal columns,
and which tables its data depend on (their change counters invalidate the caches). Collection ids
are a contract: the heat layers take `source=<collection id>` and the web map reads them.

The SQL fragments here are trusted configuration, never user input: user values always travel as
query parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: JSON type of a property -> (JSON Schema fragment, SQL type that literals compared with it take).
TYPES: dict[str, tuple[dict, str | None]] = {
    "string": ({"type": "string"}, "text"),
    "integer": ({"type": "integer"}, "numeric"),
    "number": ({"type": "number"}, "numeric"),
    "boolean": ({"type": "boolean"}, "boolean"),
    "date": ({"type": "string", "format": "date"}, "date"),
    "date-time": ({"type": "string", "format": "date-time"}, "timestamptz"),
    "array": ({"type": "array", "items": {"type": "string"}}, None),
    "object": ({"type": "object"}, None),
}


@dataclass(frozen=True)
class Prop:
    """One property: its published name, the SQL expression over `t` that gives it, its JSON type."""

    name: str
    title: str
    type: str = "string"
    expr: str = ""
    queryable: bool = True

    @property
    def sql(self) -> str:
        return self.expr or f"t.{self.name}"

    @property
    def sql_type(self) -> str | None:
        return TYPES[self.type][1]

    @property
    def filterable(self) -> bool:
        return self.queryable and self.sql_type is not None


@dataclass(frozen=True, eq=False)
class Collection:
    """One published collection (compared and hashed by identity: each is a configured singleton)."""

    id: str
    title: str
    description: str
    source: str                          # a table name or "(SELECT …)"
    geometry_type: str                   # Point, LineString, MultiPolygon, Geometry
    properties: tuple[Prop, ...]
    id_column: str = "id"
    id_type: str = "string"              # string or integer
    geometry: str = "geom"
    where: str | None = None             # fixed filter (per-kind views)
    temporal: tuple[str, str | None] | None = None   # (start column, end column or None)
    tables: tuple[str, ...] = ()         # tables whose change counters version this collection
    cacheable: bool = True               # False when a source table has no change counter
    keywords: tuple[str, ...] = ()
    tiles: bool = True
    min_zoom: int = 0
    max_zoom: int = 22
    #: Properties that tiles below `tile_detail_zoom` carry (empty: all of them at every zoom). Large
    #: point layers keep only what the map styles and filters on at district zoom; see tiles.py.
    tile_summary: tuple[str, ...] = ()
    tile_detail_zoom: int = 14

    @property
    def id_sql(self) -> str:
        return f"t.{self.id_column}"

    @property
    def geom_sql(self) -> str:
        return f"t.{self.geometry}"

    @property
    def from_sql(self) -> str:
        return f"{self.source} AS t"

    @property
    def base_where(self) -> str:
        return self.where or "TRUE"

    def prop(self, name: str) -> Prop | None:
        return self._by_name.get(name)

    @property
    def _by_name(self) -> dict[str, Prop]:
        cache = self.__dict__.get("_props_cache")
        if cache is None:
            cache = {p.name: p for p in self.properties}
            object.__setattr__(self, "_props_cache", cache)
        return cache

    @property
    def tile_properties(self) -> tuple[Prop, ...]:
        return tuple(p for p in self.properties if p.type not in ("array", "object"))

    def tile_properties_at(self, z: int) -> tuple[Prop, ...]:
        """The properties a tile of zoom `z` carries."""
        if self.tile_summary and z < self.tile_detail_zoom:
            return tuple(p for p in self.tile_properties if p.name in self.tile_summary)
        return self.tile_properties


def P(name: str, title: str, type: str = "string", expr: str = "", queryable: bool = True) -> Prop:
    return Prop(name, title, type, expr, queryable)


SOURCE_FIELDS = (
    P("data_source", "数据来源"), P("or_date", "初始日期", "date"), P("ch_date", "变更日期", "date"),
    P("note", "备注"),
)
ALIASES = (P("alias", "别名", "array", queryable=False), P("old_name", "曾用名", "array", queryable=False))

_CATEGORY = "(SELECT c.{col} FROM categories c WHERE c.kind = t.kind AND c.major = t.major AND c.minor = t.minor)"

WASTE_KIND_NAME = (
    "CASE t.kind WHEN 'drop_point' THEN '垃圾投放点' WHEN 'collection_point' THEN '垃圾收集点' "
    "WHEN 'collection_station' THEN '垃圾收集站' WHEN 'compactor_station' THEN '小压站' "
    "WHEN 'transfer_station' THEN '垃圾中转站' WHEN 'recyclables_point' THEN '可回收物服务点' "
    "WHEN 'hazardous_store' THEN '有害垃圾暂存点' WHEN 'public_toilet' THEN '公共厕所' "
    "WHEN 'kitchen_waste_plant' THEN '湿垃圾处理厂' WHEN 'incinerator' THEN '焚烧厂' "
    "WHEN 'landfill' THEN '填埋场' WHEN 'disposal_terminal' THEN '处置终端' END"
)
WASTE_PROPS = (
    P("code", "编码"), P("name", "名称"), P("kind", "设施类型"), P("kind_name", "设施类型名称", expr=WASTE_KIND_NAME),
    P("address", "地址"), P("district_code", "区县代码"), P("unit_grid_code", "所在单元网格"),
    P("capacity_tpd", "处理能力（吨/日）", "number"), P("operator", "运营单位"), P("contact", "联系方式"),
    P("commissioned", "投运日期", "date"), P("attrs", "扩展属性", "object", queryable=False),
)
WASTE_TABLES = ("waste_facilities",)

WORK_GRID_PROPS = (
    P("code", "网格编码"), P("kind", "网格类型"), P("name", "名称"), P("street_code", "街道代码"),
    P("assignee", "责任人"), P("team", "责任单位"), P("note", "备注"),
)

#: Vehicles with their last known position (positions has no change counter: never cached).
VEHICLES_SOURCE = (
    "(SELECT v.*, p.ts AS last_ts, p.speed_kmh, p.heading, p.geom FROM vehicles v "
    "LEFT JOIN LATERAL (SELECT ts, speed_kmh, heading, geom FROM positions WHERE vehicle_id = v.id "
    "ORDER BY ts DESC LIMIT 1) p ON TRUE)"
)


def _waste_view(cid: str, title: str, description: str, kinds: tuple[str, ...]) -> Collection:
    quoted = ", ".join(f"'{k}'" for k in kinds)
    return Collection(
        cid, title, description, "waste_facilities", "Point", WASTE_PROPS, id_type="integer",
        where=f"t.kind IN ({quoted})", tables=WASTE_TABLES, keywords=("环卫", "垃圾分类"),
    )


COLLECTIONS: tuple[Collection, ...] = (
    Collection(
        "admin_areas", "行政区划", "区县、街道（镇）、社区（村）三级行政区域面，代码遵循 GB/T 2260 与 GB/T 30428.1。",
        "admin_areas", "MultiPolygon",
        (P("level", "层级"), P("name", "名称"), P("parent_code", "上级代码"), *ALIASES, *SOURCE_FIELDS,
         P("area_m2", "面积（平方米）", "number")),
        id_column="code", tables=("admin_areas",), keywords=("区域", "行政区"), max_zoom=18,
    ),
    Collection(
        "unit_grids", "单元网格", "城市管理单元网格（GB/T 30428.1），15 位编码 = 社区 12 位 + 顺序码 3 位。",
        "unit_grids", "MultiPolygon",
        (P("community_code", "所属社区代码"), P("eval_code", "所属评价网格"), P("name", "名称"),
         P("area_m2", "面积（平方米）", "number"), P("or_date", "初始日期", "date"),
         P("ch_date", "变更日期", "date"), P("note", "备注")),
        id_column="code", tables=("unit_grids",), keywords=("网格", "单元网格"),
    ),
    Collection(
        "eval_grids", "评价网格", "由整片单元网格组成的评价网格，含 A/B/C 类区属性，用于考核抽样。",
        "eval_grids", "MultiPolygon",
        (P("street_code", "所属街道代码"), P("name", "名称"), P("area_class", "区域类型（A/B/C）"),
         P("area_m2", "面积（平方米）", "number"), P("first_date", "首次划分日期", "date"),
         P("change_date", "变更日期", "date"), P("note", "备注")),
        id_column="code", tables=("eval_grids",), keywords=("网格", "评价网格"),
    ),
    Collection(
        "work_grids", "工作与责任网格",
        "工作网格、责任网格、环卫巡查网格、绿化养护网格、执法巡查网格、市容环境卫生责任网格。",
        "work_grids", "MultiPolygon", WORK_GRID_PROPS, id_type="integer", tables=("work_grids",),
        keywords=("网格", "责任网格"),
    ),
    Collection(
        "responsibility_grids", "责任网格",
        "每个责任网格对应一名监督员（工作与责任网格中类型为 responsibility 的部分）。",
        "work_grids", "MultiPolygon", WORK_GRID_PROPS, id_type="integer", where="t.kind = 'responsibility'",
        tables=("work_grids",), keywords=("网格", "责任网格"),
    ),
    Collection(
        "streets", "街巷", "街巷路段及门牌号范围（GB/T 30428.3 街巷要素）。", "streets", "LineString",
        (P("str_id", "街巷编码"), P("name", "街巷名称"), *ALIASES, P("s_housenum", "最小门牌号", "integer"),
         P("l_housenum", "最大门牌号", "integer"), P("beginning", "起点"), P("ending", "止点"),
         P("direction", "走向"), P("route_name", "路线名称"), P("district_code", "区县代码"),
         P("street_code", "街道代码"), *SOURCE_FIELDS),
        id_type="integer", tables=("streets",), keywords=("地理编码", "街巷"),
    ),
    Collection(
        "doorplates", "门（楼）牌", "门牌、楼牌地址点（GB/T 30428.3 门（楼）牌要素）。", "doorplates", "Point",
        (P("add_name", "门牌地址"), P("road_name", "所在街巷"), P("zone_name", "所在地片"),
         P("house_name", "门牌号"), P("house_num", "门牌号数字", "integer"), P("lane", "弄/支弄"),
         P("building", "楼栋"), P("street_id", "街巷标识", "integer"), P("subdis_name", "街道名称"),
         P("subdis_code", "街道代码"), P("commu_name", "社区名称"), P("commu_code", "社区代码"), *SOURCE_FIELDS),
        id_column="add_id", tables=("doorplates",), keywords=("地理编码", "门牌"),
    ),
    Collection(
        "zones", "地片/区片", "小区、功能区、单位大院等地片与区片（GB/T 30428.3）。", "zones", "MultiPolygon",
        (P("name", "名称"), *ALIASES, P("boundary", "四至"), P("subdis_name", "街道名称"), P("subdis_code", "街道代码"),
         P("commu_name", "社区名称"), P("commu_code", "社区代码"), *SOURCE_FIELDS),
        id_column="zone_id", tables=("zones",), keywords=("地理编码", "地片"),
    ),
    Collection(
        "pois", "兴趣点", "建筑、单位、商铺、站点、广场、桥梁等兴趣点（GB/T 30428.3）。", "pois", "Point",
        (P("name", "名称"), *ALIASES, P("category", "类别"), P("floor", "楼层"), P("add_name", "门牌地址"),
         *SOURCE_FIELDS),
        id_column="poi_id", tables=("pois",), keywords=("地理编码", "兴趣点"),
    ),
    Collection(
        "components", "城市部件",
        "城市管理部件（GB/T 30428.2），16 位标识码 = 区县 6 位 + 大类 2 位 + 小类 2 位 + 顺序码 6 位；"
        "可按大类（major）与小类（minor）过滤。",
        "components", "Point",
        (P("major", "大类代码"), P("minor", "小类代码"),
         P("major_name", "大类名称", expr=_CATEGORY.format(col="major_name")),
         P("minor_name", "小类名称", expr=_CATEGORY.format(col="name")),
         P("name", "名称"), P("dept", "主管部门"), P("owner", "权属单位"), P("maintainer", "养护单位"),
         P("unit_grid_code", "所在单元网格"), P("status", "状态"), P("init_date", "初始时间", "date"),
         P("change_date", "变更时间", "date"), P("data_source", "数据来源"), P("location_desc", "位置描述"),
         P("currency", "现势性"), P("scale_denom", "源比例尺分母", "integer"), P("note", "备注"), P("photo", "照片")),
        temporal=("init_date", None), tables=("components", "categories"), keywords=("部件",),
        tile_summary=("major", "minor"),
    ),
    Collection(
        "waste_facilities", "环卫设施",
        "垃圾投放点、收集点/站、小压站、中转站、可回收物服务点、有害垃圾暂存点、公共厕所及处置设施。",
        "waste_facilities", "Point", WASTE_PROPS, id_type="integer", temporal=("commissioned", None),
        tables=WASTE_TABLES, keywords=("环卫", "垃圾分类"),
    ),
    _waste_view("waste_drop_points", "垃圾投放点", "生活垃圾分类投放点（常配有称重设备）。", ("drop_point",)),
    _waste_view("waste_collection_points", "垃圾收集点/站", "垃圾收集点与收集站（CJT 171 收集设施 LX 1/2）。",
                ("collection_point", "collection_station")),
    _waste_view("waste_transfer_stations", "垃圾中转站", "垃圾中转站与小压站。",
                ("transfer_station", "compactor_station")),
    _waste_view("public_toilets", "公共厕所", "公共厕所（CJT 171 公厕类别 LB、等级 GGCSLX）。", ("public_toilet",)),
    _waste_view("waste_plants", "垃圾处置设施", "湿垃圾/厨余处理厂、焚烧厂、填埋场与处置终端。",
                ("kitchen_waste_plant", "incinerator", "landfill", "disposal_terminal")),
    Collection(
        "vehicles", "车辆与终端", "环卫车、渣土车、执法车及手机、执法记录仪等定位终端，位置为最近一次定位。",
        VEHICLES_SOURCE, "Point",
        (P("plate", "车牌号"), P("kind", "类型"), P("vehicle_group", "分组"), P("district_code", "区县代码"),
         P("operator", "运营单位"), P("note", "备注"), P("last_ts", "最近定位时间", "date-time"),
         P("speed_kmh", "速度（公里/小时）", "number"), P("heading", "方向（度）", "number")),
        temporal=("last_ts", None), tables=("vehicles",), cacheable=False, keywords=("车辆", "定位"),
    ),
    Collection(
        "routes", "作业线路", "收运与作业线路：有序站点（含时间窗）与道路路段。", "routes", "LineString",
        (P("name", "名称"), P("kind", "类型（regular/temporary）"), P("vehicle_id", "车辆"),
         P("stops", "站点", "object", queryable=False), P("length_m", "长度（米）", "number"),
         P("created_at", "创建时间", "date-time"), P("updated_at", "更新时间", "date-time")),
        id_type="integer", temporal=("updated_at", None), tables=("routes",), keywords=("线路",),
    ),
    Collection(
        "fences", "电子围栏", "作业区域、禁行区、线路走廊与站点围栏。", "fences", "Geometry",
        (P("name", "名称"), P("kind", "类型"), P("buffer_m", "缓冲距离（米）", "number"),
         P("radius_m", "半径（米）", "number"), P("speed_limit_kmh", "限速（公里/小时）", "number"),
         P("dwell_limit_s", "停留上限（秒）", "number"), P("signal_timeout_s", "信号超时（秒）", "number"),
         P("vehicles", "适用车辆", "array", queryable=False), P("schedule", "生效时段", "object", queryable=False),
         P("route_id", "线路", "integer"), P("created_at", "创建时间", "date-time"),
         P("updated_at", "更新时间", "date-time")),
        id_type="integer", temporal=("updated_at", None), tables=("fences",), keywords=("围栏",),
    ),
    Collection(
        "cases", "案件", "城市管理事件与部件案件（上报位置及所在单元网格）。", "cases", "Point",
        (P("code", "案件编号"), P("kind", "类别"), P("major", "大类代码"), P("minor", "小类代码"),
         P("major_name", "大类名称", expr=_CATEGORY.format(col="major_name")),
         P("minor_name", "小类名称", expr=_CATEGORY.format(col="name")),
         P("source", "来源"), P("description", "描述"), P("address", "地址"), P("reporter", "上报人"),
         P("status", "状态"), P("reported_at", "上报时间", "date-time"), P("closed_at", "结案时间", "date-time"),
         P("unit_grid_code", "所在单元网格"), P("weight", "权重", "number")),
        id_type="integer", temporal=("reported_at", None), tables=("cases", "categories"), keywords=("案件",),
        tile_summary=("kind", "major", "minor", "status"),
    ),
    Collection(
        "alarms", "报警", "越区、禁行、路线偏离、超速、违规停留、漏收、信号超时等车辆报警。", "alarms", "Point",
        (P("kind", "报警类型"), P("vehicle_id", "车辆"), P("fence_id", "围栏", "integer"),
         P("start", "开始时间", "date-time"), P("end", "结束时间", "date-time", expr='t."end"'),
         P("max_value", "峰值", "number"), P("details", "详情", "object", queryable=False),
         P("created_at", "记录时间", "date-time")),
        id_type="integer", temporal=("start", '"end"'), tables=("alarms",), keywords=("报警",),
    ),
)

BY_ID: dict[str, Collection] = {c.id: c for c in COLLECTIONS}

assert len(BY_ID) == len(COLLECTIONS), "collection ids must be unique"


@dataclass
class Registry:
    """Lookup with a clear error; the routers never index `BY_ID` themselves."""

    collections: dict[str, Collection] = field(default_factory=lambda: dict(BY_ID))

    def get(self, cid: str) -> Collection:
        from gis.errors import NotFound

        try:
            return self.collections[cid]
        except KeyError:
            raise NotFound(f"unknown collection {cid!r}; see /ogc/collections") from None


REGISTRY = Registry()
