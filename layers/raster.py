"""Raster heat: kernel density of a heat query on a pixel grid, as a coloured PNG or a GeoTIFF.

The grid is in EPSG:3857 (Web Mercator), so the PNG drops onto a web map as an image overlay with the
four corners of the requested bbox, and the GeoTIFF opens georeferenced in desktop GIS. Points come from
the same indexed aggregate as the hexagons, at a resolution whose cells are smaller than the kernel
(their weights sit at the cell centres: an error well under the kernel width), so a 1,000,000-point
viewport costs one grouped range scan plus numpy, never a transfer of every point.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import psycopg
import rasterio
from h3.api import basic_int
from rasterio.io import MemoryFile
from rasterio.transform import from_bounds

from gis import crs as gcrs
from gis.errors import InvalidInput

from . import cache
from . import cells as hcells
from .heat import aggregate
from .query import HeatQuery
from .style import load, ramp_rgba

MAX_PIXELS = 4096


@dataclass
class Density:
    """Kernel density (weight per km² of ground) on a north-up grid in EPSG:3857."""

    values: np.ndarray  # (height, width) float64
    bounds_3857: tuple[float, float, float, float]
    bbox: tuple[float, float, float, float]  # the requested lon/lat box (EPSG:4490)
    resolution: int  # H3 resolution the points were binned at
    total: float  # weight under the grid before smoothing


def _gauss_kernel(sigma: float) -> np.ndarray:
    r = max(1, math.ceil(3 * sigma))
    x = np.arange(-r, r + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _fast_len(n: int) -> int:
    """Smallest 2^a·3^b·5^c ≥ n (FFT sizes with large prime factors are many times slower)."""
    best = 1 << (n - 1).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            m = p35
            while m < n:
                m *= 2
            best = min(best, m)
            p35 *= 3
        p5 *= 5
    return best


def _convolve_axis(a: np.ndarray, k: np.ndarray, axis: int) -> np.ndarray:
    """Linear (not circular) convolution along one axis via FFT, same size as `a`."""
    n = a.shape[axis]
    size = _fast_len(n + k.size - 1)
    fa = np.fft.rfft(a, n=size, axis=axis)
    shape = [1, 1]
    shape[axis] = -1
    fk = np.fft.rfft(k, n=size).reshape(shape)
    full = np.fft.irfft(fa * fk, n=size, axis=axis)
    start = k.size // 2
    return np.take(full, np.arange(start, start + n), axis=axis)


def gaussian_blur(a: np.ndarray, sigma: float) -> np.ndarray:
    k = _gauss_kernel(sigma)
    return _convolve_axis(_convolve_axis(a, k, 1), k, 0)


def density(conn: psycopg.Connection, q: HeatQuery, width: int = 1024, height: int = 1024,
            sigma_px: float | None = None) -> Density:
    """Kernel density of the query's points over its bbox (a Gaussian of `sigma_px` pixels)."""
    if q.bbox is None:
        raise InvalidInput("no bbox given and no data to take one from")
    for name, v in (("width", width), ("height", height)):
        if not 16 <= v <= MAX_PIXELS:
            raise InvalidInput(f"{name} must be 16–{MAX_PIXELS} pixels, got {v}")
    sigma = float(sigma_px or load("heat")["raster"].get("sigma_px", 8)) * width / 1024
    sigma = max(1.0, sigma)
    w, s, e, n = q.bbox
    xs, ys = gcrs.transform(np.array([w, e]), np.array([s, n]), 4490, 3857)
    x0, x1, y0, y1 = float(xs[0]), float(xs[1]), float(ys[0]), float(ys[1])
    px, py = (x1 - x0) / width, (y1 - y0) / height
    pad = math.ceil(3 * sigma)
    # Cells about half a kernel wide: finest resolution whose edge ≥ sigma/2 in ground metres.
    lat_c = (s + n) / 2
    ground_px = px * math.cos(math.radians(lat_c))
    res = hcells.resolution_for(ground_px, hex_px=sigma / 2)
    # Cover the padded box so points just outside still spill into the edge pixels.
    dlon, dlat = (e - w) * pad / width, (n - s) * pad / height
    padded = (max(-180.0, w - dlon), max(-90.0, s - dlat), min(180.0, e + dlon), min(90.0, n + dlat))
    cover = hcells.cover(padded, res)
    cell_ids, _counts, weights = aggregate(conn, q, res, cover)
    gw, gh = width + 2 * pad, height + 2 * pad
    grid = np.zeros(gh * gw, dtype=np.float64)
    if cell_ids.size:
        centres = np.array([basic_int.cell_to_latlng(c) for c in cell_ids.tolist()])
        cx, cy = gcrs.transform(centres[:, 1], centres[:, 0], 4490, 3857)
        col = np.floor((cx - x0) / px).astype(np.int64) + pad
        row = np.floor((y1 - cy) / py).astype(np.int64) + pad
        ok = (col >= 0) & (col < gw) & (row >= 0) & (row < gh)
        grid = np.bincount(row[ok] * gw + col[ok], weights=weights[ok], minlength=gh * gw).astype(np.float64)
    grid = grid.reshape(gh, gw)
    smooth = gaussian_blur(grid, sigma)[pad:pad + height, pad:pad + width]
    smooth[smooth < 0] = 0.0  # FFT round-off
    pixel_km2 = (px * py) * math.cos(math.radians(lat_c)) ** 2 / 1e6
    inner = float(grid[pad:pad + height, pad:pad + width].sum())
    return Density(smooth / pixel_km2, (x0, y0, x1, y1), q.bbox, res, inner)


def to_png(d: Density) -> bytes:
    """A transparent RGBA PNG coloured with the raster ramp of styles/heat.json.

    Encoded here (IHDR + one zlib IDAT, no row filters): fully transparent pixels are written as zeros, so
    the mostly empty image compresses in a few tens of milliseconds at zlib level 2.
    """
    style = load("heat")["raster"]
    v = d.values
    vmax = float(v.max()) if v.size else 0.0
    t = np.zeros_like(v) if vmax <= 0 else np.clip(v / vmax, 0.0, 1.0)
    if style.get("scale") == "sqrt":
        t = np.sqrt(t)
    rgba = ramp_rgba(t, style["ramp"])
    rgba[(t < float(style.get("cutoff", 0.0))) | (rgba[..., 3] == 0)] = 0
    return encode_png(rgba)


def encode_png(rgba: np.ndarray, level: int = 2) -> bytes:
    """PNG bytes of an (h, w, 4) uint8 array (colour type 6, 8 bits, filter type 0 on every row)."""
    height, width = rgba.shape[:2]
    raw = np.zeros((height, width * 4 + 1), dtype=np.uint8)
    raw[:, 1:] = rgba.reshape(height, width * 4)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw.tobytes(), level))
            + chunk(b"IEND", b""))


@dataclass
class Rendered:
    """An encoded raster and what the response headers say about it."""

    content: bytes
    bounds_3857: tuple[float, float, float, float]
    bbox: tuple[float, float, float, float]
    resolution: int


def render(conn: psycopg.Connection, q: HeatQuery, fmt: str, width: int = 1024, height: int = 1024,
           answers: cache.LayerCache | None = None) -> Rendered:
    """PNG (`png`) or GeoTIFF (`tif`) of the query, cached per query and the source table's change counter."""
    def compute() -> Rendered:
        d = density(conn, q, width=width, height=height)
        content = to_png(d) if fmt == "png" else to_geotiff(d)
        return Rendered(content, d.bounds_3857, d.bbox, d.resolution)

    if not q.cacheable:
        return compute()
    hcells.ensure_cells(conn, q.source)  # a back-fill bumps the counter: read it after
    return cache.get_or_compute(answers, conn, (q.source.table,), ("raster", fmt, width, height, q.key()), compute)


def to_geotiff(d: Density) -> bytes:
    """A float32 GeoTIFF of density (weight per km²) in EPSG:3857, deflate-compressed."""
    height, width = d.values.shape
    x0, y0, x1, y1 = d.bounds_3857
    profile = {
        "driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": "float32",
        "crs": rasterio.crs.CRS.from_epsg(3857), "transform": from_bounds(x0, y0, x1, y1, width, height),
        "compress": "deflate", "predictor": 3, "tiled": True, "blockxsize": 256, "blockysize": 256,
    }
    if width % 16 or height % 16:
        profile.update(tiled=False)
        profile.pop("blockxsize")
        profile.pop("blockysize")
    with MemoryFile() as mem:
        with mem.open(**profile) as dst:
            dst.write(d.values.astype(np.float32), 1)
            dst.update_tags(units="weight per km2 (kernel density)", h3_resolution=str(d.resolution),
                            bbox_4490=",".join(f"{c:.7f}" for c in d.bbox))
            dst.set_band_description(1, "density")
        return mem.read()
