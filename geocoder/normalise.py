"""Address text normalisation: one canonical spelling before segmentation and before indexing.

The same function runs over the reference names when the index is built and over each query, so a
name and a query that differ only in width, spacing, punctuation or numeral script compare equal.
"""

from __future__ import annotations

import re
import unicodedata

_CN_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_CHARS = "".join(_CN_DIGITS) + "".join(_CN_UNITS)

#: Unit words after which a Chinese numeral is a number (longest first, so 号楼 wins over 号).
UNIT_WORDS = ("支弄", "号楼", "号院", "单元", "号", "弄", "幢", "栋", "室", "座", "楼", "层", "米", "组", "公里")
_UNIT_ALT = "|".join(UNIT_WORDS)
#: A Chinese numeral followed by a unit word: 一百二十三号, 二十八弄, 三号楼, 西五十米.
_CN_NUMBER = re.compile(f"([{_CN_CHARS}]+)(?=(?:{_UNIT_ALT}))")
#: Spelled digit by digit (一二三号) or positional (一百零三号): both handled by `cn_to_int`.

#: Intersection wording variants, folded to one marker each.
_JUNCTION = [
    (re.compile(r"(交叉路口|十字路口|十字口|交叉口|交汇处|交会处|交口)$"), "交叉口"),
    (re.compile(r"(丁字路口|丁字口|三岔路口|三岔口)$"), "丁字口"),
]
#: Separators that carry no meaning in an address (after NFKC: ASCII punctuation and CJK marks).
_DROP = re.compile(r"[\s,，。、;；:：'\"“”‘’!！?？·•_~`|]+")
#: A dash or slash that is not between two digits separates parts; it carries no meaning.
_SEPARATOR = re.compile(r"(?<!\d)[-/]|[-/](?!\d)")
_NO = re.compile(r"(?<![A-Z])NO(?=\d)")
_HASH = re.compile(r"(\d+)#")
_DOT = re.compile(r"(?<!\d)\.|\.(?!\d)")  # a dot is dropped unless it is a decimal point
_DASHES = re.compile(r"[－—–―~～]")
_BRACKETS = str.maketrans({"（": "(", "）": ")", "【": "(", "】": ")", "[": "(", "]": ")", "{": "(", "}": ")",
                           "〔": "(", "〕": ")", "《": "", "》": ""})


def cn_to_int(text: str) -> int | None:
    """一百二十三 → 123, 二十八 → 28, 十 → 10, 一二三 → 123, 两千零五 → 2005; None if not a numeral."""
    if not text or any(c not in _CN_DIGITS and c not in _CN_UNITS for c in text):
        return None
    if not any(c in _CN_UNITS for c in text):
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total, current = 0, 0
    for c in text:
        if c in _CN_DIGITS:
            current = _CN_DIGITS[c]
        else:
            unit = _CN_UNITS[c]
            total += (current or 1) * unit
            current = 0
    return total + current


def _numerals(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        value = cn_to_int(m.group(1))
        return m.group(1) if value is None else str(value)

    return _CN_NUMBER.sub(repl, text)


def normalise(text: str) -> str:
    """Full-width → half-width, spacing/punctuation removed, Chinese numerals → digits before unit
    words, junction wording folded (路口/交叉口/丁字口 variants). Letters are upper-cased."""
    s = unicodedata.normalize("NFKC", text or "").translate(_BRACKETS)
    s = _DASHES.sub("-", s)
    s = _DOT.sub("", _DROP.sub("", s))
    s = s.replace("()", "")
    s = _SEPARATOR.sub("", s)   # 大丰区-大中镇/人民路: separators between parts (12-3号 keeps its dash)
    s = _numerals(s)
    s = re.sub(r"(\d+)号号", r"\1号", s)
    for pattern, marker in _JUNCTION:
        s = pattern.sub(marker, s)
    s = s.upper()
    s = _NO.sub("", s)            # No.12 / NO12 → 12
    return _HASH.sub(r"\1号", s)  # 12# → 12号


def name_key(name: str) -> str:
    """The comparison key of a reference name (street, zone, POI, region): normalised, no brackets."""
    s = normalise(name)
    return s.replace("(", "").replace(")", "")
