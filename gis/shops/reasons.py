"""Why a row of a shop list was not placed, sorted and said in Chinese for the upload page (商户批量导入).

The importer and the address placer word their reasons in English (the CLI, the logs and the tests read
them). The people uploading a shop list read Chinese, and want the rows grouped by what to do about them:
an address not found (fix the address), ambiguous (add the street or the community), too vague (add the
house number), no address at all, or bad data (a duplicate code, a missing name …). This module maps the
known reasons to one of those kinds and a Chinese sentence; a reason it does not know keeps its English
text after 数据有误, so nothing is hidden.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

#: The kinds of rejected rows, in the order the page lists them, with their Chinese names.
KINDS: dict[str, str] = {
    "unmatched": "地址未匹配",
    "ambiguous": "地址有歧义",
    "uncertain": "定位可信度低",
    "no_address": "缺少地址",
    "invalid": "数据有误",
}

LEVELS = {"region": "行政区域", "zone": "地片/小区", "street": "街巷", "doorplate": "门牌", "interpolated": "门牌插值",
          "intersection": "交叉口", "poi": "兴趣点", "offset": "方位偏移"}

_Rule = tuple[re.Pattern[str], str, Callable[[re.Match[str]], str]]


def _level(name: str) -> str:
    return LEVELS.get(name, name)


_RULES: list[_Rule] = [
    (re.compile(r"address not found: '(?P<q>.*)' matches no place"), "unmatched",
     lambda m: f"地址“{m['q']}”未找到匹配的地点，请核对路名和门牌号"),
    (re.compile(r"ambiguous address: '(?P<q>.*)' fits several places equally \((?P<a>.*) / (?P<b>.*)\)"),
     "ambiguous", lambda m: f"地址“{m['q']}”同时符合多个地点（{m['a']} / {m['b']}），请补充街道或社区"),
    (re.compile(r"match too uncertain: '(?P<q>.*)' → (?P<s>.*) \((?P<lv>\w+), confidence (?P<c>[\d.]+) "
                r"< (?P<min>[\d.]+)\)"), "uncertain",
     lambda m: f"地址“{m['q']}”只定位到{_level(m['lv'])}“{m['s']}”，可信度 {m['c']} 低于 {m['min']}，请补充门牌号"),
    (re.compile(r"no coordinates and no address"), "no_address", lambda m: "既无坐标也无地址，无法定位"),
    (re.compile(r"missing required field (?P<f>.+)"), "invalid", lambda m: f"缺少必填字段 {m['f']}"),
    (re.compile(r"duplicate (?P<f>\S+) (?P<v>.+) \(first on row (?P<r>\d+)\)"), "invalid",
     lambda m: f"编号 {m['v']} 与第 {m['r']} 行重复"),
    (re.compile(r".*street segment (?P<s>\d+) of (?P<c>\d+): street (?P<p>\d+) does not exist"), "invalid",
     lambda m: f"街道代码 {m['c']} 的街道段 {m['s']} 不存在（无街道 {m['p']}）"),
    (re.compile(r".*district segment (?P<s>\d+) of (?P<c>\d+): district (?P<p>\d+) does not exist"), "invalid",
     lambda m: f"街道代码 {m['c']} 的区县段 {m['s']} 不存在"),
    (re.compile(r"(?P<f>.+) (?P<v>\S+) must be (?P<n>\d+) digits"), "invalid",
     lambda m: f"{m['f']} {m['v']} 应为 {m['n']} 位数字"),
    (re.compile(r"missing geometry"), "no_address", lambda m: "缺少坐标"),
    (re.compile(r".*coordinates .* are not plausible in (?P<crs>\S+)"), "invalid",
     lambda m: f"坐标在 {m['crs']} 中不合理，请检查坐标系"),
    (re.compile(r".*lies outside China"), "invalid", lambda m: "坐标转换后不在中国境内，请检查坐标系"),
]


def explain(reason: str) -> tuple[str, str]:
    """(kind, Chinese sentence) of one reason."""
    for pattern, kind, say in _RULES:
        m = pattern.match(reason)
        if m:
            return kind, say(m)
    return "invalid", f"数据有误：{reason}"


def annotate(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rejected rows of an import report, each with `kind` (the first matching kind in KINDS order:
    an address problem before a data problem), `kind_name` and `reasons_zh`."""
    out = []
    order = list(KINDS)
    for row in rows:
        said = [explain(r) for r in row.get("reasons") or []]
        kinds = [k for k, _ in said] or ["invalid"]
        kind = min(kinds, key=order.index)
        out.append({**row, "kind": kind, "kind_name": KINDS[kind], "reasons_zh": [s for _, s in said]})
    return out


def counts(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    """How many annotated rows of each kind (every kind present, zeros included)."""
    out = dict.fromkeys(KINDS, 0)
    for row in rows:
        out[row["kind"]] += 1
    return out
