"""Reading GeoJSON, GeoPackage, Shapefile and CSV into plain column arrays plus a geometry array.

GDAL (through pyogrio.raw) reads the three vector formats; CSV is read here so that a lon/lat pair or a
WKT column, any delimiter and GBK text all work without GDAL open options. Every reader returns the same
`RawTable`; nothing here knows about layers or the database.
"""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.raw
import shapely
from numpy.typing import NDArray

from gis.errors import InvalidInput
from gis.io import encoding as enc

FORMATS = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".csv": "CSV",
           ".txt": "CSV", ".xlsx": "Excel", ".xlsm": "Excel"}

_WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "几何")
_LON_NAMES = ("lon", "lng", "longitude", "x", "经度", "横坐标")
_LAT_NAMES = ("lat", "latitude", "y", "纬度", "纵坐标")


@dataclass
class RawTable:
    """A file's features as columns: `values[i]` holds field `fields[i]` for every row."""

    fields: list[str]
    values: list[NDArray]
    geometry: NDArray | None            # shapely geometries (None where missing); None: no geometry at all
    crs: str | None                     # the CRS the file declares, if any
    encoding: str
    format: str
    errors: dict[int, list[str]] = field(default_factory=dict)   # row index -> problems found reading
    warnings: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        if self.geometry is not None:
            return len(self.geometry)
        return len(self.values[0]) if self.values else 0


def file_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InvalidInput(f"cannot tell the format of {path.name}: use .geojson, .gpkg, .shp, .csv or .xlsx",
                           code="unknown_format")
    return fmt


def read(path: str | Path, encoding: str | None = None, layer: str | None = None) -> RawTable:
    """Reads `path` (format by suffix); `encoding` overrides detection; `layer` picks a GeoPackage layer."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"no such file: {path}", code="no_such_file")
    fmt = file_format(path)
    if fmt == "CSV":
        return _read_csv(path, encoding)
    if fmt == "Excel":
        return _read_excel(path)
    if fmt == "GeoJSON":
        return _read_geojson(path, encoding)
    if fmt == "GPKG":
        return _read_ogr(path, fmt, "utf-8", _gpkg_layer(path, layer))
    return _read_ogr(path, fmt, _shapefile_encoding(path, encoding), None)


def _read_geojson(path: Path, encoding: str | None) -> RawTable:
    """GDAL reads GeoJSON as UTF-8 only: a GBK file is transcoded to a temporary UTF-8 copy first."""
    data = path.read_bytes()
    text, used = enc.decode(data, encoding)
    if used == "utf-8" and not data.startswith(b"\xef\xbb\xbf"):
        return _read_ogr(path, "GeoJSON", used, None)
    with tempfile.TemporaryDirectory(prefix="citygrid-import-") as tmp:
        copy = Path(tmp) / "input.geojson"
        copy.write_text(text, encoding="utf-8")
        table = _read_ogr(copy, "GeoJSON", "utf-8", None)
        table.encoding = used
        return table


def _shapefile_encoding(path: Path, override: str | None) -> str:
    if override:
        return enc.normalise(override)
    return enc.cpg_encoding(path) or enc.dbf_encoding(path) or "utf-8"


def _gpkg_layer(path: Path, wanted: str | None) -> str | None:
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(path)]
    except Exception as exc:
        raise InvalidInput(f"cannot read {path.name} as a GeoPackage: {exc}", code="unreadable_file") from exc
    if not layers:
        raise InvalidInput(f"{path.name} holds no layer", code="empty_file")
    if wanted and wanted in layers:
        return wanted
    return layers[0]


def _read_ogr(path: Path, fmt: str, encoding: str, layer: str | None) -> RawTable:
    try:
        meta, _fids, geoms, values = pyogrio.raw.read(path, layer=layer, encoding=encoding,
                                                      datetime_as_string=True)
    except Exception as exc:
        raise InvalidInput(f"cannot read {path.name} as {fmt}: {exc}", code="unreadable_file") from exc
    geometry = None
    errors: dict[int, list[str]] = {}
    if meta.get("geometry_type") is not None or geoms is not None:
        wkb = np.asarray(geoms, dtype=object) if geoms is not None else np.full(len(values[0]), None, object)
        geometry = shapely.from_wkb(wkb, on_invalid="ignore")
        unreadable = np.flatnonzero(shapely.is_missing(geometry) & np.not_equal(wkb, None))
        for i in unreadable:
            errors.setdefault(int(i), []).append("unreadable geometry")
    warnings = []
    if len(pyogrio.list_layers(path)) > 1:
        warnings.append(f"{path.name} has several layers: read {layer or 'the first'}")
    return RawTable(list(meta["fields"]), list(values), geometry, meta.get("crs"), encoding, fmt, errors, warnings)


# -- CSV -------------------------------------------------------------------------------------------


def _find(header_norm: list[str], names: tuple[str, ...]) -> int | None:
    for n in names:
        if n in header_norm:
            return header_norm.index(n)
    return None


def _read_csv(path: Path, encoding: str | None) -> RawTable:
    text, used = enc.decode(path.read_bytes(), encoding)
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    return _table(path, rows, used, "CSV")


def _read_excel(path: Path) -> RawTable:
    """The first sheet of a workbook, read like a CSV (商户批量导入 lists are usually Excel)."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise InvalidInput(f"{path.name} is not a readable Excel file: {exc}", code="unreadable_file") from exc
    rows = [["" if c is None else str(c) for c in row] for row in wb.worksheets[0].iter_rows(values_only=True)]
    wb.close()
    return _table(path, rows, "UTF-8", "Excel")


def _table(path: Path, rows: list[list[str]], used: str, fmt: str) -> RawTable:
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise InvalidInput(f"{path.name} is empty", code="empty_file")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    width = len(header)
    errors: dict[int, list[str]] = {}
    for i, r in enumerate(body):
        if len(r) != width:
            errors.setdefault(i, []).append(f"has {len(r)} values where the header has {width}")
    cols = [np.array([(r[j].strip() or None) if j < len(r) else None for r in body], dtype=object)
            for j in range(width)]
    hn = [h.lower() for h in header]
    wkt_i = _find(hn, _WKT_NAMES)
    lon_i, lat_i = _find(hn, _LON_NAMES), _find(hn, _LAT_NAMES)
    geometry = None
    geom_cols: set[int] = set()
    if wkt_i is not None:
        geometry = _wkt_geometry(cols[wkt_i], errors)
        geom_cols = {wkt_i}
    elif lon_i is not None and lat_i is not None:
        geometry = _point_geometry(cols[lon_i], cols[lat_i], header[lon_i], header[lat_i], errors)
        geom_cols = {lon_i, lat_i}
    keep = [j for j in range(width) if j not in geom_cols]
    return RawTable([header[j] for j in keep], [cols[j] for j in keep], geometry, None, used, fmt, errors)


def _wkt_geometry(values: NDArray, errors: dict[int, list[str]]) -> NDArray:
    geoms = shapely.from_wkt(values, on_invalid="ignore")
    for i in np.flatnonzero(shapely.is_missing(geoms) & np.not_equal(values, None)):
        errors.setdefault(int(i), []).append(f"unreadable WKT {str(values[i])[:40]!r}")
    return geoms


def _to_float(values: NDArray) -> NDArray[np.float64]:
    try:  # fast path: every value a number or missing
        return np.asarray(np.where(np.equal(values, None), "nan", values), dtype=np.float64)
    except ValueError:
        pass
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values):
        if v is not None:
            with contextlib.suppress(ValueError):
                out[i] = float(v)
    return out


def _point_geometry(lon: NDArray, lat: NDArray, lon_name: str, lat_name: str,
                    errors: dict[int, list[str]]) -> NDArray:
    x, y = _to_float(lon), _to_float(lat)
    bad = ~(np.isfinite(x) & np.isfinite(y))
    for i in np.flatnonzero(bad & (np.not_equal(lon, None) | np.not_equal(lat, None))):
        errors.setdefault(int(i), []).append(f"{lon_name}/{lat_name} {lon[i]!r}/{lat[i]!r} are not numbers")
    geoms = shapely.points(np.where(bad, 0, x), np.where(bad, 0, y))
    geoms[bad] = None
    return geoms
