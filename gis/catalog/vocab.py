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

CAMERA_KINDS = vocab(
    ("bullet", "枪机", "枪式摄像机"),
    ("dome", "球机", "球型摄像机"),
    ("half_dome", "半球", "半球摄像机"),
    ("ai", "AI 摄像机", "AI摄像机", "智能摄像机"),
    ("body_camera", "执法记录仪"),
)

ONLINE_STATES = vocab(("online", "在线"), ("offline", "离线"))

#: What a camera watches (for "the cameras of this drop point").
WATCHED_KINDS = vocab(("drop_point", "垃圾投放点", "投放点"), ("compound", "小区出入口", "小区"), ("road", "道路"))

DEVICE_KINDS = vocab(
    ("overflow", "满溢传感器", "满溢"),
    ("manhole", "井盖位移", "井盖"),
    ("billboard", "广告牌倾斜", "广告牌"),
    ("environment", "环境监测", "扬尘噪声"),
    ("waterlogging", "积水监测", "积水"),
)

DEVICE_STATES = vocab(("unknown", "未上报"), ("normal", "正常"), ("alarm", "报警"), ("offline", "离线"))

DEVICE_ALARM_KINDS = vocab(
    ("overflow", "满溢"), ("displacement", "位移"), ("tilt", "倾斜"), ("exceed", "超标"), ("offline", "离线"),
)

# -- issue 16 -------------------------------------------------------------------------------------------

#: 诚信 colour of a shop (rule: docs/decisions.md "Shop integrity", SQL function shop_state_at).
SHOP_INTEGRITY = vocab(("green", "绿"), ("yellow", "黄"), ("red", "红"))

SHOP_WASTE_KINDS = vocab(
    ("kitchen", "湿垃圾", "厨余垃圾", "餐厨垃圾"),
    ("residual", "干垃圾", "其他垃圾"),
    ("recyclable", "可回收物"),
    ("hazardous", "有害垃圾"),
    ("bulky", "大件垃圾"),
)

SHOP_EVAL_RESULTS = vocab(("pass", "合格"), ("warn", "基本合格"), ("fail", "不合格"))

#: Places muck trucks drive between (建筑垃圾/渣土).
CW_SITE_KINDS = vocab(
    ("construction_site", "建筑工地", "工地"),
    ("disposal_site", "消纳场/卸点", "消纳场", "卸点"),
    ("wharf", "码头"),
    ("transfer_yard", "中转调配厂", "中转调配场"),
    ("parking", "车辆停车场", "停车场"),
)

#: The fourteen kinds of evaluation sample points (城市管理综合评价样本点位). The documents name 主次干道,
#: 背街小巷, 居住小区, 集贸市场, 公厕, 垃圾收集点, 建筑工地, 河道 "…"; the other six are the usual ones of
#: the evaluation manuals, editable here.
SAMPLE_KINDS = vocab(
    ("main_road", "主次干道", "主干道", "次干道"),
    ("back_street", "背街小巷"),
    ("residential", "居住小区", "小区"),
    ("market", "集贸市场", "农贸市场"),
    ("public_toilet", "公共厕所", "公厕"),
    ("collection_point", "垃圾收集点", "垃圾收集站"),
    ("construction_site", "建筑工地", "工地"),
    ("river", "河道", "水域"),
    ("park_square", "公园广场", "公园", "广场"),
    ("commercial_street", "商业大街", "商业街区"),
    ("transport_hub", "交通场站", "车站", "交通枢纽"),
    ("school_hospital", "学校医院周边", "学校周边", "医院周边"),
    ("urban_fringe", "城乡结合部"),
    ("transfer_station", "垃圾中转站", "中转站"),
)
