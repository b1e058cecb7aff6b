"""Text encodings of input files: UTF-8, or GBK/GB18030 as Chinese desktop GIS and Excel write them.

Detection is deliberately simple and deterministic: bytes that decode as strict UTF-8 are UTF-8 (a GBK
text of any length almost never does); anything else is read as GB18030, the superset of GBK and
GB2312. A shapefile's `.cpg` names its encoding and wins over detection; `--encoding` wins over both.
"""

from __future__ import annotations

import codecs
import struct
from pathlib import Path

from gis.errors import InvalidInput

#: Code-page names found in .cpg files that Python does not know by that name.
_CPG_ALIASES = {"936": "gbk", "cp936": "gbk", "54936": "gb18030", "65001": "utf-8", "utf8": "utf-8",
                "gb2312": "gb18030", "gbk": "gbk", "ansi 936": "gbk", "950": "big5", "1252": "cp1252",
                "88591": "latin-1"}


def normalise(name: str) -> str:
    """A Python codec name for `name` (GBK and GB2312 read as GB18030, their superset)."""
    key = name.strip().lower()
    key = _CPG_ALIASES.get(key, key)
    try:
        codec = codecs.lookup(key).name
    except LookupError as exc:
        raise InvalidInput(f"unknown text encoding {name!r}: use e.g. UTF-8, GBK or GB18030",
                           code="unknown_encoding") from exc
    return "gb18030" if codec in ("gbk", "gb2312") else codec


def detect(data: bytes) -> str:
    """'utf-8' when `data` is valid UTF-8 (a BOM is allowed), else 'gb18030'."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"


def decode(data: bytes, encoding: str | None) -> tuple[str, str]:
    """Decodes `data` with `encoding` (or the detected one) and returns (text, encoding used)."""
    enc = normalise(encoding) if encoding else detect(data)
    try:
        text = data.decode("utf-8-sig" if enc == "utf-8" else enc)
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the file is not valid {enc} text (byte {exc.start}): pass --encoding",
                           code="bad_encoding") from exc
    return text, enc


def cpg_encoding(shp: Path) -> str | None:
    """The encoding a shapefile's .cpg names, if it has one Python knows."""
    for suffix in (".cpg", ".CPG"):
        cpg = shp.with_suffix(suffix)
        if cpg.exists():
            name = cpg.read_text(encoding="ascii", errors="ignore").strip()
            if name:
                try:
                    return normalise(name)
                except InvalidInput:
                    return None
    return None


def dbf_encoding(shp: Path) -> str | None:
    """Detects the encoding of a shapefile's attribute records (the .dbf header is binary, skipped)."""
    for suffix in (".dbf", ".DBF"):
        dbf = shp.with_suffix(suffix)
        if dbf.exists():
            data = dbf.read_bytes()
            if len(data) < 32:
                return None
            header_len = struct.unpack("<H", data[8:10])[0]
            return detect(data[header_len:].rstrip(b"\x1a"))
    return None
