"""The Chinese wording and kind of each reason a shop row is not placed (gis.shops.reasons): the upload
page groups rejected rows by these kinds, so every reason the importer gives for shops must land in one."""

from __future__ import annotations

import pytest

from gis.shops import reasons


@pytest.mark.parametrize(("reason", "kind", "words"), [
    ("address not found: '幸福路3号' matches no place (unmatched)", "unmatched", ["幸福路3号", "未找到"]),
    ("ambiguous address: '泰和路8号' fits several places equally (淞南镇泰和路8号 / 吴淞街道泰和路8号)", "ambiguous",
     ["泰和路8号", "淞南镇泰和路8号", "补充街道"]),
    ("match too uncertain: '淞滨路' → 淞滨路 (street, confidence 0.50 < 0.60)", "uncertain",
     ["街巷", "0.50", "0.60", "门牌号"]),
    ("no coordinates and no address", "no_address", ["无法定位"]),
    ("missing required field 商户名称", "invalid", ["必填", "商户名称"]),
    ("duplicate code B1 (first on row 1)", "invalid", ["B1", "第 1 行"]),
    ("街道代码: street segment 999 of 310113999: street 310113999 does not exist", "invalid", ["310113999", "不存在"]),
    ("something new went wrong", "invalid", ["数据有误", "something new went wrong"]),
])
def test_each_reason_has_a_kind_and_a_chinese_sentence(reason: str, kind: str, words: list[str]) -> None:
    got_kind, zh = reasons.explain(reason)
    assert got_kind == kind
    for w in words:
        assert w in zh


def test_a_row_takes_its_address_problem_before_a_data_problem() -> None:
    both = ["missing required field 商户名称", "address not found: 'x' matches no place (unmatched)"]
    rows = reasons.annotate([{"row": 3, "id": "X", "reasons": both}])
    assert rows[0]["kind"] == "unmatched" and rows[0]["kind_name"] == "地址未匹配"
    assert len(rows[0]["reasons_zh"]) == 2
    assert reasons.counts(rows) == {"unmatched": 1, "ambiguous": 0, "uncertain": 0, "no_address": 0, "invalid": 0}
