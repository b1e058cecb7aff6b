"""Every published table, declared once.

Adding a point layer to the OGC API, heat sources, import and export is one entry here plus the
migration that creates its table (change counters and H3 cells follow from the entry: gis.db.catalog_sync).
Field order is publication order; the importer and exporter use the same order.
"""

from __future__ import annotations

from gis.catalog.model import Field, Heat, Import, Layer, Rollup, Scope
from gis.catalog.vocab import (
    ADMIN_LEVELS,
    AREA_CLASSES,
    CAMERA_KINDS,
    CASE_KINDS,
    CASE_SOURCES,
    CASE_STATUSES,
    COMPLAINT_SOURCES,
    CW_SITE_KINDS,
    DEVICE_KINDS,
    DEVICE_STATES,
    ONLINE_STATES,
    SAMPLE_KINDS,
    SHOP_EVAL_RESULTS,
    SHOP_INTEGRITY,
    SHOP_WASTE_KINDS,
    VEHICLE_KINDS,
    WASTE_KINDS,
    WATCHED_KINDS,
    WORK_GRID_KINDS,
)

F = Field


def hidden(name: str, title: str, type_: str, *names: str, **kw) -> Field:
    """A field the importer reads and the exporter writes but the OGC API does not list (ids)."""
    return Field(name, title, type_, names, publish=False, **kw)


SOURCE_FIELDS = (
    F("data_source", "数据来源", names=("DataSource", "数据来源")),
    F("or_date", "初始日期", "date", ("ORDate", "初始时间", "设立时间")),
    F("ch_date", "变更日期", "date", ("CHDate", "变更时间")),
    F("note", "备注", names=("Note", "备注")),
)
ALIASES = (F("alias", "别名", "textarr", ("Alias", "别名")), F("old_name", "曾用名", "textarr", ("OldName", "曾用名")))

#: Category names come from one join per query (Layer.joins), not a sub-select per property and row.
_CATEGORY = "cat.{col}"
_CATEGORY_JOIN = "LEFT JOIN categories cat ON cat.kind = t.kind AND cat.major = t.major AND cat.minor = t.minor"

WASTE_FIELDS = (
    F("code", "编码", names=("code", "编码")),
    F("name", "名称", names=("name", "名称"), required=True),
    F("kind", "设施类型", names=("kind", "设施类型", "类型"), required=True, vocab=WASTE_KINDS),
    F("kind_name", "设施类型名称", expr=WASTE_KINDS.label_sql("t.kind")),
    F("address", "地址", names=("address", "地址")),
    F("district_code", "区县代码", "code", ("district_code", "区县编码"), checks=("district",)),
    F("unit_grid_code", "所在单元网格", "code", ("unit_grid_code", "所在单元网格"), checks=("unit_grid",)),
    F("capacity_tpd", "处理能力（吨/日）", "float", ("capacity_tpd", "RJLJSJL", "设计规模")),
    F("operator", "运营单位", names=("operator", "运营单位", "权属单位")),
    F("contact", "联系方式", names=("contact", "联系方式")),
    F("commissioned", "投运日期", "date", ("commissioned", "投运日期")),
    F("attrs", "扩展属性", "json", ("attrs",)),
    # a (Multi)Polygon as WKT, in the file's CRS
    F("coverage", "覆盖范围", "wkt", ("coverage", "覆盖范围"), publish=False),
)

WORK_GRID_FIELDS = (
    F("code", "网格编码", names=("code", "编码"), required=True),
    F("kind", "网格类型", names=("kind", "类型", "网格类型"), required=True, vocab=WORK_GRID_KINDS),
    F("name", "名称", names=("name", "名称"), required=True),
    F("street_code", "街道代码", "code", ("street_code", "SubDisCode", "街道编码"), checks=("street",)),
    F("assignee", "责任人", names=("assignee", "责任人")),
    F("team", "责任单位", names=("team", "班组", "责任单位")),
    F("note", "备注", names=("note", "备注")),
)

#: Vehicles with their last known position (positions has no change counter: never cached).
VEHICLES_SOURCE = (
    "(SELECT v.*, p.ts AS last_ts, p.speed_kmh, p.heading, p.geom FROM vehicles v "
    "LEFT JOIN LATERAL (SELECT ts, speed_kmh, heading, geom FROM positions WHERE vehicle_id = v.id "
    "ORDER BY ts DESC LIMIT 1) p ON TRUE)"
)


_AREA_NAME = "(SELECT w.name FROM work_grids w WHERE w.id = t.area_id)"

SHOP_FIELDS = (
    F("code", "商户编号", names=("code", "商户编号", "编号", "商户代码"), required=True),
    F("name", "商户名称", names=("name", "商户名称", "店名", "名称"), required=True),
    F("business", "经营类别", names=("business", "经营类别", "行业", "业态")),
    F("address", "经营地址", names=("address", "经营地址", "地址", "门牌地址")),
    F("owner", "负责人", names=("owner", "负责人", "经营者")),
    F("contact", "联系电话", names=("contact", "联系电话", "电话")),
    F("street_code", "街道代码", "code", ("street_code", "SubDisCode", "街道编码"), checks=("street",)),
    F("registered", "登记日期", "date", ("registered", "登记日期")),
    F("note", "备注", names=("note", "备注")),
    F("match_level", "定位方式", names=("match_level", "匹配级别")),
    F("confidence", "定位可信度", "float", ("confidence", "可信度")),
    F("area_id", "责任区", "int", imported=False),
    F("area_name", "市容环境卫生责任区", expr=_AREA_NAME),
)

#: A shop with its state now (收运, 评价, 诚信): time-dependent, so never cached.
SHOP_STATE_SOURCE = (
    "(SELECT s.id, s.code, s.name, s.business, s.address, s.area_id, s.geom, st.last_collected, "
    "st.last_weight_kg, st.last_evaluated, st.last_result, st.fails_30d, st.warns_30d, st.integrity "
    "FROM shops s JOIN shop_state_at(now()) st ON st.shop_id = s.id)"
)

SITE_FIELDS = (
    F("code", "编码", names=("code", "编码", "场地编号"), required=True),
    F("name", "名称", names=("name", "名称", "工地名称", "场地名称"), required=True),
    F("kind", "类型", names=("kind", "类型", "场地类型"), required=True, vocab=CW_SITE_KINDS),
    F("kind_name", "类型名称", expr=CW_SITE_KINDS.label_sql("t.kind")),
    F("address", "地址", names=("address", "地址")),
    F("operator", "单位", names=("operator", "建设单位", "运营单位", "单位")),
    F("contact", "联系方式", names=("contact", "联系方式", "联系电话")),
    F("permit_from", "核准起始日期", "date", ("permit_from", "核准起始日期", "许可起始")),
    F("permit_to", "核准截止日期", "date", ("permit_to", "核准截止日期", "许可截止")),
    F("disposal_code", "登记消纳场", names=("disposal_code", "消纳场编码", "登记消纳场")),
    F("gate_m", "场门排队范围（米）", "float", ("gate_m", "排队范围")),
    # a (Multi)Polygon as WKT, in the file's CRS: the site's extent where it has one
    F("area", "场地范围", "wkt", ("area", "场地范围", "范围"), publish=False),
)

SAMPLE_FIELDS = (
    F("code", "点位编码", names=("code", "点位编码", "编码"), required=True),
    F("name", "点位名称", names=("name", "点位名称", "名称"), required=True),
    F("kind", "点位类型", names=("kind", "点位类型", "类型"), required=True, vocab=SAMPLE_KINDS),
    F("kind_name", "点位类型名称", expr=SAMPLE_KINDS.label_sql("t.kind")),
    F("street_code", "街道代码", "code", ("street_code", "SubDisCode", "街道编码"), checks=("street",)),
    F("address", "地址", names=("address", "地址")),
    F("radius_m", "打卡半径（米）", "float", ("radius_m", "打卡半径", "半径")),
    F("note", "备注", names=("note", "备注")),
    F("area", "点位范围", "wkt", ("area", "点位范围", "范围"), publish=False),
)


def waste_view(lid: str, title: str, title_en: str, description: str, kinds: tuple[str, ...]) -> Layer:
    """A published per-kind view of the waste facilities (no import, heat or H3 of its own)."""
    quoted = ", ".join(f"'{k}'" for k in kinds)
    return Layer(
        lid, title, title_en, description, "waste_facilities", "Point", WASTE_FIELDS, id_type="integer",
        where=f"t.kind IN ({quoted})", keywords=("环卫", "垃圾分类"), scope=Scope("unit_grid_code", 15),
    )


LAYERS: tuple[Layer, ...] = (
    Layer(
        "admin_areas", "行政区划", "Administrative areas",
        "区县、街道（镇）、社区（村）三级行政区域面，代码遵循 GB/T 2260 与 GB/T 30428.1。",
        "admin_areas", "MultiPolygon",
        (hidden("code", "区划代码", "code", "AddID", "区划代码", "行政区划代码", "代码", required=True,
                checks=("region_tree",)),
         F("level", "层级", names=("Level", "级别"), vocab=ADMIN_LEVELS, derive=("region_level", "code")),
         F("name", "名称", names=("AddName", "名称", "区划名称"), required=True),
         F("parent_code", "上级代码", "code", ("ParentCode", "上级代码"), derive=("region_parent", "code")),
         *ALIASES, *SOURCE_FIELDS, F("area_m2", "面积（平方米）", "float", ("Area", "面积"))),
        id_column="code", keywords=("区域", "行政区"), max_zoom=18, scope=Scope("code", 12),
        io=Import(("code",), "MultiPolygon", aliases=("regions",), gbt=True, order="length(code), row_no",
                  in_district=False, route=(15, "unit_grids")),
    ),
    Layer(
        "unit_grids", "单元网格", "Unit grids",
        "城市管理单元网格（GB/T 30428.1），15 位编码 = 社区 12 位 + 顺序码 3 位。", "unit_grids", "MultiPolygon",
        (hidden("code", "网格编码", "code", "code", "AddID", "网格编码", "单元网格编码", "编码", required=True,
                checks=("unit_grid_code",)),
         F("community_code", "所属社区代码", "code", ("community_code", "CommuCode", "社区编码"),
           derive=("slice", "code", 0, 12)),
         F("eval_code", "所属评价网格", "code", ("eval_code", "评价网格编码"), checks=("eval_grid",)),
         F("name", "名称", names=("name", "AddName", "名称")),
         F("area_m2", "面积（平方米）", "float", ("area_m2", "面积")),
         F("or_date", "初始日期", "date", ("or_date", "ORDate", "初始时间")),
         F("ch_date", "变更日期", "date", ("ch_date", "CHDate", "变更时间")),
         F("note", "备注", names=("note", "Note", "备注"))),
        id_column="code", keywords=("网格", "单元网格"), scope=Scope("code", 15),
        io=Import(("code",), "MultiPolygon"),
    ),
    Layer(
        "eval_grids", "评价网格", "Evaluation grids", "由整片单元网格组成的评价网格，含 A/B/C 类区属性，用于考核抽样。",
        "eval_grids", "MultiPolygon",
        (hidden("code", "评价网格编码", "code", "code", "评价网格编码", "编码", required=True,
                checks=("eval_grid_code",)),
         F("street_code", "所属街道代码", "code", ("street_code", "SubDisCode", "街道编码"),
           derive=("slice", "code", 0, 9)),
         F("name", "名称", names=("name", "名称")),
         F("area_class", "区域类型（A/B/C）", names=("area_class", "类型", "区域类型"), vocab=AREA_CLASSES),
         F("area_m2", "面积（平方米）", "float", ("area_m2", "面积")),
         F("first_date", "首次划分日期", "date", ("first_date", "初次划分时间", "初始时间")),
         F("change_date", "变更日期", "date", ("change_date", "变更时间")),
         F("note", "备注", names=("note", "备注"))),
        id_column="code", keywords=("网格", "评价网格"), scope=Scope("street_code", 9),
        io=Import(("code",), "MultiPolygon"),
    ),
    Layer(
        "work_grids", "工作与责任网格", "Work and responsibility grids",
        "工作网格、责任网格、环卫巡查网格、绿化养护网格、执法巡查网格、市容环境卫生责任网格。",
        "work_grids", "MultiPolygon", WORK_GRID_FIELDS, id_type="integer", keywords=("网格", "责任网格"),
        scope=Scope("street_code", 9),
        io=Import(("kind", "code"), "MultiPolygon"),
    ),
    Layer(
        "responsibility_grids", "责任网格", "Responsibility grids",
        "每个责任网格对应一名监督员（工作与责任网格中类型为 responsibility 的部分）。",
        "work_grids", "MultiPolygon", WORK_GRID_FIELDS, id_type="integer", where="t.kind = 'responsibility'",
        scope=Scope("street_code", 9),
        keywords=("网格", "责任网格"),
    ),
    Layer(
        "streets", "街巷", "Streets", "街巷路段及门牌号范围（GB/T 30428.3 街巷要素）。", "streets", "LineString",
        (F("str_id", "街巷编码", names=("StrID", "街巷编码"), required=True),
         F("name", "街巷名称", names=("StrName", "街巷名称", "名称"), required=True), *ALIASES,
         F("s_housenum", "最小门牌号", "int", ("SHousenum", "最小门牌号")),
         F("l_housenum", "最大门牌号", "int", ("LHousenum", "最大门牌号")),
         F("beginning", "起点", names=("Beginning", "起点")), F("ending", "止点", names=("Ending", "止点")),
         F("direction", "走向", names=("Direction", "走向")),
         F("route_name", "路线名称", names=("RouteName", "路线名称")),
         F("district_code", "区县代码", "code", ("DisCode", "区县编码"), checks=("district",)),
         F("street_code", "街道代码", "code", ("SubDisCode", "街道编码"), checks=("street",)),
         *SOURCE_FIELDS),
        id_type="integer", keywords=("地理编码", "街巷"), scope=Scope("street_code", 9),
        io=Import(("str_id",), "LineString", gbt=True, checks=("street_in_district", "house_range")),
    ),
    Layer(
        "doorplates", "门（楼）牌", "Doorplates", "门牌、楼牌地址点（GB/T 30428.3 门（楼）牌要素）。",
        "doorplates", "Point",
        (hidden("add_id", "编码", "text", "AddID", "编码", required=True),
         F("add_name", "门牌地址", names=("AddName", "门牌地址", "地址"), required=True),
         F("road_name", "所在街巷", names=("RoadName", "街路巷名")),
         F("zone_name", "所在地片", names=("ZoneName", "小区名称")),
         F("house_name", "门牌号", names=("HouseName", "门牌号")),
         F("house_num", "门牌号数字", "int", ("HouseNum",), derive=("leading_number", "house_name")),
         F("lane", "弄/支弄", names=("Lane", "弄")), F("building", "楼栋", names=("Building", "楼牌")),
         F("street_id", "街巷标识", "int", imported=False),
         F("subdis_name", "街道名称", names=("SubDisName", "街道名称")),
         F("subdis_code", "街道代码", "code", ("SubDisCode", "街道编码"), checks=("street",), label="SubDisCode"),
         F("commu_name", "社区名称", names=("CommuName", "社区名称")),
         F("commu_code", "社区代码", "code", ("CommuCode", "社区编码"), checks=("community",), label="CommuCode"),
         *SOURCE_FIELDS),
        id_column="add_id", keywords=("地理编码", "门牌"), h3=True, scope=Scope("commu_code", 12),
        heat=Heat("门（楼）牌", rank=4),
        io=Import(("add_id",), "Point", gbt=True, checks=("community_in_street",)),
    ),
    Layer(
        "zones", "地片/区片", "Zones and compounds", "小区、功能区、单位大院等地片与区片（GB/T 30428.3）。",
        "zones", "MultiPolygon",
        (hidden("zone_id", "编码", "text", "ZoneID", "编码", required=True),
         F("name", "名称", names=("ZoneName", "名称"), required=True), *ALIASES,
         F("boundary", "四至", names=("Boundary", "四至")),
         F("subdis_name", "街道名称", names=("SubDisName", "街道名称")),
         F("subdis_code", "街道代码", "code", ("SubDisCode", "街道编码"), checks=("street",), label="SubDisCode"),
         F("commu_name", "社区名称", names=("CommuName", "社区名称")),
         F("commu_code", "社区代码", "code", ("CommuCode", "社区编码"), checks=("community",), label="CommuCode"),
         *SOURCE_FIELDS),
        id_column="zone_id", keywords=("地理编码", "地片"), scope=Scope("commu_code", 12),
        io=Import(("zone_id",), "MultiPolygon", gbt=True, checks=("community_in_street",)),
    ),
    Layer(
        "pois", "兴趣点", "Points of interest", "建筑、单位、商铺、站点、广场、桥梁等兴趣点（GB/T 30428.3）。",
        "pois", "Point",
        (hidden("poi_id", "编码", "text", "POIID", "编码", required=True),
         F("name", "名称", names=("POIName", "名称"), required=True), *ALIASES,
         F("category", "类别", names=("Category", "类别")), F("floor", "楼层", names=("Floor", "楼层")),
         F("add_name", "门牌地址", names=("AddName", "门牌地址")), *SOURCE_FIELDS),
        id_column="poi_id", keywords=("地理编码", "兴趣点"), h3=True,
        heat=Heat("兴趣点", category="category", rank=3),
        io=Import(("poi_id",), "Point", gbt=True),
    ),
    Layer(
        "components", "城市部件", "City components",
        "城市管理部件（GB/T 30428.2），16 位标识码 = 区县 6 位 + 大类 2 位 + 小类 2 位 + 顺序码 6 位；"
        "可按大类（major）与小类（minor）过滤。",
        "components", "Point",
        (hidden("id", "标识码", "code", "id", "标识码", "BSM", required=True, checks=("component_id",)),
         F("major", "大类代码", "code", ("major", "大类"), derive=("slice", "id", 6, 8, 10)),
         F("minor", "小类代码", "code", ("minor", "小类"), derive=("slice", "id", 8, 10, 10)),
         F("major_name", "大类名称", expr=_CATEGORY.format(col="major_name")),
         F("minor_name", "小类名称", expr=_CATEGORY.format(col="name")),
         F("name", "名称", names=("name", "名称", "部件名称")), F("dept", "主管部门", names=("dept", "主管部门")),
         F("owner", "权属单位", names=("owner", "权属单位")),
         F("maintainer", "养护单位", names=("maintainer", "养护单位")),
         F("unit_grid_code", "所在单元网格", "code", ("unit_grid_code", "所在单元网格", "单元网格"),
           checks=("unit_grid",)),
         F("status", "状态", names=("status", "状态", "部件状态")),
         F("init_date", "初始时间", "date", ("init_date", "初始时间")),
         F("change_date", "变更时间", "date", ("change_date", "变更时间")),
         F("data_source", "数据来源", names=("data_source", "数据来源")),
         F("location_desc", "位置描述", names=("location_desc", "位置描述")),
         F("currency", "现势性", names=("currency", "现势性")),
         F("scale_denom", "源比例尺分母", "int", ("scale_denom", "源比例尺分母")),
         F("note", "备注", names=("note", "备注")), F("photo", "照片", names=("photo", "照片"))),
        temporal=("init_date", None), depends=("components", "categories"), joins=_CATEGORY_JOIN, keywords=("部件",),
        tile_summary=("major", "minor"), tile_cluster_by=("major", "minor"), h3=True,
        heat=Heat("部件", category="class", rank=2),
        scope=Scope("unit_grid_code", 15),
        io=Import(("id",), "Point", fixed={"kind": "component"}), noun="component", label_column="id",
        write="planner",
    ),
    Layer(
        "waste_facilities", "环卫设施", "Waste and sanitation facilities",
        "垃圾投放点、收集点/站、小压站、中转站、可回收物服务点、有害垃圾暂存点、公共厕所及处置设施。",
        "waste_facilities", "Point", WASTE_FIELDS, id_type="integer", temporal=("commissioned", None),
        keywords=("环卫", "垃圾分类"), h3=True, scope=Scope("unit_grid_code", 15),
        heat=Heat("环卫设施", category="kind", rank=5, weights={"capacity_tpd": "capacity_tpd"}),
        io=Import(("code",), "Point", extra_json="attrs"), noun="waste facility", label_column="name",
        write="planner",
    ),
    waste_view("waste_drop_points", "垃圾投放点", "Waste drop points", "生活垃圾分类投放点（常配有称重设备）。",
               ("drop_point",)),
    waste_view("waste_collection_points", "垃圾收集点/站", "Waste collection points",
               "垃圾收集点与收集站（CJT 171 收集设施 LX 1/2）。", ("collection_point", "collection_station")),
    waste_view("waste_transfer_stations", "垃圾中转站", "Waste transfer stations", "垃圾中转站与小压站。",
               ("transfer_station", "compactor_station")),
    waste_view("public_toilets", "公共厕所", "Public toilets", "公共厕所（CJT 171 公厕类别 LB、等级 GGCSLX）。",
               ("public_toilet",)),
    waste_view("waste_plants", "垃圾处置设施", "Waste treatment plants",
               "湿垃圾/厨余处理厂、焚烧厂、填埋场与处置终端。",
               ("kitchen_waste_plant", "incinerator", "landfill", "disposal_terminal")),
    Layer(
        "vehicles", "车辆与终端", "Vehicles and tracked devices",
        "环卫车、渣土车、执法车及手机、执法记录仪等定位终端，位置为最近一次定位。", "vehicles", "Point",
        (hidden("id", "终端编号", "text", "id", "终端编号", "车辆编号", required=True),
         F("plate", "车牌号", names=("plate", "车牌号")),
         F("kind", "类型", names=("kind", "类型"), required=True, vocab=VEHICLE_KINDS),
         F("vehicle_group", "分组", names=("vehicle_group", "group", "分组")),
         F("district_code", "区县代码", "code", ("district_code", "区县编码"), checks=("district",)),
         F("operator", "运营单位", names=("operator", "运营单位")), F("note", "备注", names=("note", "备注")),
         F("last_ts", "最近定位时间", "timestamp", imported=False),
         F("speed_kmh", "速度（公里/小时）", "float", imported=False),
         F("heading", "方向（度）", "float", imported=False)),
        source=VEHICLES_SOURCE, temporal=("last_ts", None), cacheable=False, keywords=("车辆", "定位"),
        scope=Scope(vehicle="id"),
        heat=Heat("车辆 (最新位置)", time="ts", rank=7, category="kind",
                  select="SELECT v.id, v.kind, p.ts, p.geom FROM vehicles v CROSS JOIN LATERAL "
                         "(SELECT ts, geom FROM positions WHERE vehicle_id = v.id ORDER BY ts DESC LIMIT 1) p"),
        io=Import(("id",), None),
    ),
    Layer(
        "routes", "作业线路", "Routes", "收运与作业线路：有序站点（含时间窗）与道路路段。", "routes", "LineString",
        (F("name", "名称"), F("kind", "类型（regular/temporary）"), F("vehicle_id", "车辆"),
         F("stops", "站点", "json"), F("length_m", "长度（米）", "float"),
         F("created_at", "创建时间", "timestamp"), F("updated_at", "更新时间", "timestamp")),
        id_type="integer", temporal=("updated_at", None), keywords=("线路",),
    ),
    Layer(
        "fences", "电子围栏", "Electronic fences", "作业区域、禁行区、线路走廊与站点围栏。", "fences", "Geometry",
        (F("name", "名称"), F("kind", "类型"), F("buffer_m", "缓冲距离（米）", "float"),
         F("radius_m", "半径（米）", "float"), F("speed_limit_kmh", "限速（公里/小时）", "float"),
         F("dwell_limit_s", "停留上限（秒）", "float"), F("signal_timeout_s", "信号超时（秒）", "float"),
         F("vehicles", "适用车辆", "textarr"), F("schedule", "生效时段", "json"),
         F("route_id", "线路", "int"), F("created_at", "创建时间", "timestamp"),
         F("updated_at", "更新时间", "timestamp")),
        id_type="integer", temporal=("updated_at", None), keywords=("围栏",),
    ),
    Layer(
        "cases", "案件", "Cases", "城市管理事件与部件案件（上报位置及所在单元网格）。", "cases", "Point",
        (F("code", "案件编号", names=("code", "案件编号")),
         F("kind", "类别", names=("kind",), vocab=CASE_KINDS),
         F("major", "大类代码", "code", ("major", "大类"), required=True, checks=("case_type",)),
         F("minor", "小类代码", "code", ("minor", "小类"), required=True),
         F("major_name", "大类名称", expr=_CATEGORY.format(col="major_name")),
         F("minor_name", "小类名称", expr=_CATEGORY.format(col="name")),
         F("source", "来源", names=("source", "来源"), vocab=CASE_SOURCES),
         F("description", "描述", names=("description", "描述", "问题描述")),
         F("address", "地址", names=("address", "地址")), F("reporter", "上报人", names=("reporter", "上报人")),
         F("status", "状态", names=("status", "状态"), vocab=CASE_STATUSES),
         F("reported_at", "上报时间", "timestamp", ("reported_at", "上报时间"), required=True),
         F("closed_at", "结案时间", "timestamp", ("closed_at", "结案时间"), checks=("closed_after_reported",)),
         F("unit_grid_code", "所在单元网格", "code", ("unit_grid_code", "所在单元网格"), checks=("unit_grid",)),
         F("weight", "权重", "float", ("weight", "权重"))),
        id_type="integer", temporal=("reported_at", None), depends=("cases", "categories"), keywords=("案件",),
        joins=_CATEGORY_JOIN,
        scope=Scope("unit_grid_code", 15),
        tile_summary=("kind", "major", "minor", "status"), h3=True,
        heat=Heat("案件", time="reported_at", rank=0, category="class", weights={"weight": "weight"},
                  rollup=Rollup("source", "weight", "reported_at")),
        io=Import(("code",), "Point", after=("similar_cases",)), noun="case", label_column="code",
        write="inspector",
    ),
    Layer(
        "complaints", "投诉 (热线案件)", "Complaints (hotline cases)", "来自 12345 热线的案件。", "cases", "Point",
        (), id_type="integer", where=f"source IN ({', '.join(repr(v) for v in COMPLAINT_SOURCES)})",
        scope=Scope("unit_grid_code", 15),
        publish=False,
        heat=Heat(time="reported_at", category="class", weights={"weight": "weight"}, rank=1, parts=COMPLAINT_SOURCES),
    ),
    Layer(
        "waste_records", "垃圾产生量 (称重记录, 吨)", "Waste weighing records", "投放点与收运称重记录。",
        "waste_records", "Point", (), id_type="integer", publish=False, h3=True,
        heat=Heat(time="ts", category="waste_kind", rank=6, weights={"tonnes": "tonnes"}, default_weight="tonnes",
                  rollup=Rollup("waste_kind", "tonnes", "ts")),
    ),
    Layer(
        "alarms", "报警", "Alarms", "越区、禁行、路线偏离、超速、违规停留、漏收、信号超时等车辆报警。",
        "alarms", "Point",
        (F("kind", "报警类型"), F("vehicle_id", "车辆"), F("fence_id", "围栏", "int"),
         F("start", "开始时间", "timestamp"), F("end", "结束时间", "timestamp", expr='t."end"'),
         F("max_value", "峰值", "float"), F("details", "详情", "json"),
         F("created_at", "记录时间", "timestamp")),
        id_type="integer", temporal=("start", '"end"'), keywords=("报警",), scope=Scope(vehicle="vehicle_id"),
        # a fleet's areas decide who sees its alarms: scoped counts must be recomputed when they change
        depends=("alarms", "vehicles", "fleet_areas"),
    ),
    Layer(
        "cameras", "监控点位", "Cameras",
        "视频监控通道（GB/T 28181 设备与通道 20 位编码），含朝向、视场角与可视距离（地图绘制可视扇区）、"
        "在线状态、浏览器可播放的 HLS/HTTP-FLV 地址与抓图地址，以及所监控的投放点、小区或道路。",
        "cameras", "Point",
        (hidden("id", "通道编码", "code", "channel_code", "通道编码", "通道国标编码", "id", required=True,
                checks=("gb28181",), label="channel code"),
         F("device_code", "设备编码", "code", ("device_code", "设备编码", "设备国标编码"), required=True,
           checks=("gb28181",), label="device code"),
         F("name", "名称", names=("name", "名称", "点位名称"), required=True),
         F("kind", "类型", names=("kind", "类型", "摄像机类型"), required=True, vocab=CAMERA_KINDS),
         F("kind_name", "类型名称", expr=CAMERA_KINDS.label_sql("t.kind")),
         F("owner", "权属单位", names=("owner", "权属单位", "建设单位")),
         F("direction_deg", "朝向（度，正北顺时针）", "float", ("direction_deg", "朝向", "方位角"),
           checks=("direction",), default="0"),
         F("fov_deg", "视场角（度）", "float", ("fov_deg", "视场角", "水平视场角"),
           checks=("view_angle",), default="60"),
         F("range_m", "可视距离（米）", "float", ("range_m", "可视距离", "监控距离"),
           checks=("view_range",), default="50"),
         F("state", "状态", names=("state", "状态", "在线状态"), vocab=ONLINE_STATES, default="'online'"),
         F("state_name", "状态名称", expr=ONLINE_STATES.label_sql("t.state")),
         F("last_seen", "最近在线时间", "timestamp", ("last_seen", "最近在线时间")),
         F("stream_url", "播放地址（HLS/FLV）", names=("stream_url", "播放地址", "HLS")),
         F("rtsp_url", "RTSP 地址", names=("rtsp_url", "RTSP")),
         F("snapshot_url", "抓图地址", names=("snapshot_url", "抓图地址", "快照")),
         F("watches_kind", "监控对象类型", names=("watches_kind", "监控对象类型"), vocab=WATCHED_KINDS),
         F("watches_ref", "监控对象", names=("watches_ref", "监控对象", "关联编码")),
         F("unit_grid_code", "所在单元网格", "code", ("unit_grid_code", "所在单元网格"), checks=("unit_grid",)),
         F("note", "备注", names=("note", "备注"))),
        temporal=("last_seen", None), keywords=("监控", "视频"), tile_summary=("kind", "state"),
        scope=Scope("unit_grid_code", 15),
        io=Import(("id",), "Point", aliases=("camera", "监控")), noun="camera", label_column="id",
    ),
    Layer(
        "devices", "物联感知设备", "IoT devices",
        "满溢传感器、井盖位移、广告牌倾斜、环境监测（PM2.5/噪声）与积水监测终端，含最新读数与状态。",
        "devices", "Point",
        (hidden("id", "设备编号", "text", "id", "设备编号", "终端编号", required=True),
         F("name", "名称", names=("name", "名称"), required=True),
         F("kind", "类型", names=("kind", "类型", "设备类型"), required=True, vocab=DEVICE_KINDS),
         F("kind_name", "类型名称", expr=DEVICE_KINDS.label_sql("t.kind")),
         F("owner", "权属单位", names=("owner", "权属单位")),
         F("facility_code", "关联设施编码", names=("facility_code", "关联设施", "设施编码")),
         F("unit_grid_code", "所在单元网格", "code", ("unit_grid_code", "所在单元网格"), checks=("unit_grid",)),
         F("offline_after_s", "离线判定（秒）", "float", ("offline_after_s", "离线判定")),
         F("note", "备注", names=("note", "备注")),
         F("state", "状态", imported=False, vocab=DEVICE_STATES),
         F("state_name", "状态名称", expr=DEVICE_STATES.label_sql("t.state")),
         F("last_ts", "最近上报时间", "timestamp", imported=False),
         F("last_values", "最新读数", "json", imported=False)),
        temporal=("last_ts", None), keywords=("物联", "传感器"), tile_summary=("kind", "state"),
        scope=Scope("unit_grid_code", 15),
        io=Import(("id",), "Point", aliases=("device", "iot")), noun="device", label_column="id",
    ),
    Layer(
        "shops", "沿街商铺", "Street shops",
        "沿街商户（垃圾收运与门责管理）：按地址批量导入并定位，所在市容环境卫生责任区由位置得出。",
        "shops", "Point", SHOP_FIELDS, id_type="integer", depends=("shops", "work_grids"),
        keywords=("商铺", "门责", "环卫"), h3=True, heat=Heat("沿街商铺", category="business", rank=8),
        scope=Scope("street_code", 9),
        io=Import(("code",), "Point", aliases=("shop",), place=("address", "address")), noun="shop",
        label_column="code",
    ),
    Layer(
        "shop_state", "商铺最新状态", "Shops: latest state",
        "每个商铺最近一次收运与评价及诚信颜色（红/黄/绿，规则见 docs/decisions.md）。",
        "shops", "Point",
        (F("code", "商户编号"), F("name", "商户名称"), F("business", "经营类别"), F("address", "经营地址"),
         F("area_id", "责任区", "int"),
         F("last_collected", "最近收运时间", "timestamp"), F("last_weight_kg", "最近收运量（公斤）", "float"),
         F("last_evaluated", "最近评价时间", "timestamp"),
         F("last_result", "最近评价结果", vocab=SHOP_EVAL_RESULTS),
         F("last_result_name", "评价结果", expr=SHOP_EVAL_RESULTS.label_sql("t.last_result")),
         F("fails_30d", "30日不合格次数", "int"), F("warns_30d", "30日基本合格次数", "int"),
         F("integrity", "诚信颜色", vocab=SHOP_INTEGRITY),
         F("integrity_name", "诚信", expr=SHOP_INTEGRITY.label_sql("t.integrity"))),
        id_type="integer", source=SHOP_STATE_SOURCE, depends=("shops", "shop_collections", "shop_evaluations"),
        cacheable=False, keywords=("商铺", "诚信"),
    ),
    Layer(
        "shop_collections", "商铺收运量 (公斤)", "Shop collections", "沿街商铺收运记录（收运量按商铺位置）。",
        "shop_collections", "Point",
        (F("shop_id", "商铺", "int"), F("ts", "收运时间", "timestamp"), F("collector", "收运人"),
         F("waste_kind", "垃圾类别", vocab=SHOP_WASTE_KINDS), F("weight_kg", "重量（公斤）", "float")),
        id_type="integer", publish=False, h3=True,
        heat=Heat(time="ts", category="waste_kind", rank=9, weights={"weight_kg": "weight_kg"},
                  default_weight="weight_kg"),
    ),
    Layer(
        "cw_sites", "建筑垃圾场所", "Construction-waste sites",
        "建筑工地（核准期限、登记消纳场）、消纳场/卸点、码头、中转调配厂与渣土车停车场；有范围的带面。",
        "cw_sites", "Point", SITE_FIELDS, id_type="integer", keywords=("渣土", "建筑垃圾"),
        io=Import(("code",), "Point", aliases=("sites",)), noun="site", label_column="code",
    ),
    # The same rows by their extent: the sites that have one (工地, 消纳场 … drawn as areas), with the same
    # properties and ids, so that a map draws the outline under the site's point (docs/decisions.md).
    # Read-only: sites are written (and imported) through cw_sites, whose `area` column this publishes.
    Layer(
        "cw_site_areas", "建筑垃圾场所范围", "Construction-waste site areas",
        "有范围的建筑垃圾场所（工地、消纳场/卸点、码头、中转调配厂、停车场）的场地范围面，属性与编号同 cw_sites。",
        "cw_sites", "MultiPolygon", SITE_FIELDS, id_type="integer", geometry="area", where="t.area IS NOT NULL",
        keywords=("渣土", "建筑垃圾", "场地范围"), noun="site", label_column="code",
    ),
    Layer(
        "muck_permits", "渣土运输核准", "Muck-truck permits",
        "渣土车核准：车辆、出土工地、消纳场、有效期与核准路线（走廊外行驶报 未按核准路线）。",
        "muck_permits", "LineString",
        (F("code", "核准编号"), F("vehicle_id", "车辆"), F("site_id", "工地", "int"),
         F("disposal_id", "消纳场", "int"), F("valid_from", "有效期起", "date"),
         F("valid_to", "有效期止", "date"), F("corridor_m", "走廊半宽（米）", "float"),
         F("fence_id", "路线围栏", "int")),
        id_type="integer", geometry="route", temporal=("valid_from", "valid_to"), keywords=("渣土", "核准"),
    ),
    Layer(
        "eval_samples", "评价样本点位", "Evaluation sample points",
        "城市管理综合评价的十四类样本点位（主次干道、背街小巷、居住小区、集贸市场、公厕、垃圾收集点、建筑工地、河道等）。",
        "eval_sample_points", "Point", SAMPLE_FIELDS, id_type="integer", keywords=("评价", "样本点位"),
        scope=Scope("street_code", 9),
        io=Import(("code",), "Point", aliases=("eval_sample_points", "samples")), noun="sample point",
        label_column="code",
    ),
    Layer(
        "geocoded_points", "批量地址结果", "Batch-geocoding results",
        "批量地址定位后保存为图层的结果点（按图层名称 layer 筛选），含输入地址、标准地址、匹配级别与置信度。",
        "geocoded_points", "Point",
        (F("layer", "图层名称"), F("row_no", "行号", "int"), F("query", "输入地址"),
         F("standard_address", "标准地址"), F("match_level", "匹配级别"), F("confidence", "置信度", "float"),
         F("created_at", "保存时间", "timestamp")),
        id_type="integer", temporal=("created_at", None), keywords=("批量地址", "地理编码"),
        noun="point", label_column="row_no",
    ),
)
