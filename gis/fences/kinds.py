"""The published alarm kinds (standards.md §5), English ids with Chinese labels, and the fence kinds.

The same list is seeded into the `alarm_kinds` table by migration 0005 (the table is what the database
enforces; this module is what the code and the API publish without a round trip).
"""

from __future__ import annotations

ALARM_KINDS: dict[str, tuple[str, str]] = {
    "out_of_area": ("越区", "left the assigned area"),
    "forbidden": ("禁行", "inside a forbidden road or zone"),
    "off_route": ("路线偏离", "off the planned route corridor"),
    "overspeed": ("超速", "over the speed limit"),
    "illegal_stay": ("违规停留", "stopped too long where not allowed"),
    "missed_stop": ("漏收/超时未收", "scheduled stop not visited within its window"),
    "signal_timeout": ("信号接收超时", "no fix for too long"),
    "cross_district": ("跨区作业", "working outside its district"),
    "late_warning": ("预计超时预警", "predicted late completion of a stop"),
    # muck trucks (渣土车, issue 16): raised by fences gis.muck.fences keeps in step with sites and permits
    "illegal_dumping": ("偷倒/乱倒", "muck truck stopped too long outside any registered site"),
    "unapproved_route": ("未按核准路线", "muck truck left its permit's route corridor"),
    "restricted_hours": ("夜间/限时禁行", "on a restricted road in restricted hours"),
}

FENCE_KINDS = ("area", "forbidden", "corridor", "stop")

#: The alarm each fence kind raises when it is violated (an area fence may choose cross_district).
FENCE_ALARM = {"area": "out_of_area", "forbidden": "forbidden", "corridor": "off_route"}

#: The alarms a fence of each kind may raise instead (its `alarm_kind`), the default first.
ALARM_CHOICES = {
    "area": ("out_of_area", "cross_district", "illegal_dumping"),
    "corridor": ("off_route", "unapproved_route"),
    "forbidden": ("forbidden", "restricted_hours"),
}

#: Area-fence alarms about stopping outside the area for longer than its dwell_limit_s (the area is
#: where stops are allowed: the registered sites with their gates), not about leaving it.
STAY_OUTSIDE_ALARMS = ("illegal_dumping",)


def label(kind: str) -> str:
    return ALARM_KINDS.get(kind, (kind, ""))[0]


def published() -> list[dict[str, str]]:
    return [{"kind": k, "label": zh, "label_zh": zh, "label_en": en} for k, (zh, en) in ALARM_KINDS.items()]
