"""Kind vocabularies: stored values, their Chinese labels, and the other names files use for them.

Editing a label here changes it everywhere it is shown (OGC `kind_name`, the web map's panels, exports
of labels); adding a synonym makes the importer accept it.
"""

from __future__ import annotations

from gis.catalog.model import vocab

ADMIN_LEVELS = vocab(
    ("district", "区/县", "区", "县", "区县"),
    ("street", "街道/镇/乡", "街道", "镇", "乡"),
    ("community", "社区/村", "社区", "村"),
)

WORK_GRID_KINDS = vocab(
    ("work", "工作网格"),
    ("responsibility", "责任网格"),
    ("sanitation_patrol", "环卫巡查网格"),
    ("greening_maintenance", "环卫绿化养护区域网格", "绿化养护网格", "养护区域网格"),
    ("enforcement_patrol", "城管执法巡查网格", "执法巡查网格"),
    ("cityscape_responsibility", "市容环境卫生责任网格", "市容环卫责任网格"),
)

WASTE_KINDS = vocab(
    ("drop_point", "垃圾投放点", "投放点"),
    ("collection_point", "垃圾收集点", "收集点"),
    ("collection_station", "垃圾收集站", "收集站"),
    ("compactor_station", "小压站"),
    ("transfer_station", "垃圾中转站", "中转站"),
    ("recyclables_point", "可回收物服务点"),
    ("hazardous_store", "有害垃圾暂存点"),
    ("public_toilet", "公共厕所", "公厕"),
    ("kitchen_waste_plant", "湿垃圾处理厂", "厨余处理厂", "厨余垃圾处理厂"),
    ("incinerator", "焚烧厂"),
    ("landfill", "填埋场"),
    ("disposal_terminal", "处置终端"),
)

VEHICLE_KINDS = vocab(
    ("household_waste", "生活垃圾车"),
    ("kitchen_waste", "餐厨垃圾车", "厨余垃圾车"),
    ("muck", "渣土车"),
    ("enforcement", "执法车"),
    ("sweeper", "清扫车"),
    ("phone", "手机"),
    ("body_camera", "执法记录仪"),
)

CASE_KINDS = vocab(("event", "事件"), ("component", "部件"))

#: Where a case came from (人工巡查 vs 热线 vs 视频/AI vs 市民 APP). Open: other channels are kept as sent.
CASE_SOURCES = vocab(
    ("supervisor", "人工巡查", "监督员", "监督员上报", "巡查"),
    ("hotline", "12345 热线", "热线", "12345"),
    ("camera", "视频/AI 发现", "视频", "AI", "视频发现"),
    ("app", "市民 APP", "APP", "随手拍"),
    open=True,
)

#: Case workflow states. Open: a dispatching system may add its own.
CASE_STATUSES = vocab(("open", "待处置"), ("processing", "处置中"), ("closed", "已结案"), open=True)

AREA_CLASSES = vocab(("A", "A 类区域"), ("B", "B 类区域"), ("C", "C 类区域"))

#: `cases.source` values that count as citizen complaints (the 12345 hotline).
COMPLAINT_SOURCES = ("hotline", "12345", "热线")
