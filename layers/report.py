"""Static map reports (folium) that open OFFLINE: one self-contained HTML file.

folium links Leaflet, jQuery, Bootstrap and Font Awesome from CDNs by default; here those links are dropped
and Leaflet 1.9.4 (vendored from the npm package under layers/assets/leaflet, BSD-2-Clause) is inlined, with
its CSS images as data URIs. No tile layer either: the district's own boundaries are the basemap.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any

import folium
import psycopg
from branca.element import Element

from .flows import flows as flow_data
from .heat import build_query, hexagons
from .style import load

ASSETS = Path(__file__).parent / "assets" / "leaflet"


def _leaflet_inline() -> tuple[str, str]:
    js = (ASSETS / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"//# sourceMappingURL=.*$", "", js, flags=re.M)
    css = (ASSETS / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(m: re.Match[str]) -> str:
        path = ASSETS / m.group(1)
        return f"url(data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)
    return js, css


def offline_map(bounds: tuple[float, float, float, float] | None) -> folium.Map:
    """A folium map with no CDN links and Leaflet inlined; fitted to `bounds` (lon/lat)."""
    m = folium.Map(tiles=None, control_scale=True)
    m.default_js = []
    m.default_css = []
    js, css = _leaflet_inline()
    header = m.get_root().header
    header.add_child(Element(f"<style>{css}</style>"), name="leaflet_css_inline")
    header.add_child(Element(f"<script>{js}</script>"), name="leaflet_js_inline")
    header.add_child(Element("<style>html,body{margin:0;height:100%;font-family:sans-serif}"
                             ".cg-legend{position:absolute;z-index:1000;bottom:16px;right:16px;background:#fff;"
                             "padding:8px 10px;border-radius:4px;box-shadow:0 1px 4px #0004;font-size:12px;"
                             "max-height:60%;overflow:auto}.cg-legend i{display:inline-block;width:14px;height:14px;"
                             "margin-right:6px;vertical-align:middle}</style>"), name="cg_style")
    if bounds:
        w, s, e, n = bounds
        m.fit_bounds([[s, w], [n, e]])
    return m


def _boundaries(conn: psycopg.Connection, m: folium.Map) -> None:
    rows = conn.execute("SELECT name, ST_AsGeoJSON(geom, 6) FROM admin_areas WHERE level IN ('district', 'street') "
                        "ORDER BY level, code").fetchall()
    if not rows:
        return
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": name}, "geometry": json.loads(g)} for name, g in rows]}
    folium.GeoJson(fc, name="行政边界", style_function=lambda f: {"color": "#555", "weight": 1.5, "fill": False},
                   tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False)).add_to(m)


def _legend(m: folium.Map, title: str, rows: list[tuple[str, str]], extra: str = "") -> None:
    items = "".join(f"<div><i style='background:{c}'></i>{html.escape(label)}</div>" for c, label in rows)
    m.get_root().html.add_child(Element(f"<div class='cg-legend'><b>{html.escape(title)}</b>{items}{extra}</div>"))


def _street_row(s: dict[str, Any]) -> str:
    """产生 → 运输 → 末端 of one street as a table row."""
    ends = ", ".join(f"{t['name']} {t['tonnes']:.1f}" for t in s["末端"])
    return (f"<tr><td>{html.escape(s['name'])}</td><td>{(s['产生'].get('tonnes') or 0):.1f}</td>"
            f"<td>{s['运输'].get('trips', 0)} 车次 / {(s['运输'].get('tonne_km') or 0):.0f} t·km</td>"
            f"<td>{html.escape(ends)}</td></tr>")


def heat_report(conn: psycopg.Connection, *, source: str = "cases", start: str | None = None,
                stop: str | None = None, category: str | None = None, weight: str | None = None,
                resolution: int | None = None) -> str:
    """HTML of the hexagon heat map of a source over the district."""
    q = build_query(conn, source=source, bbox=None, start=start, stop=stop, category=category, weight=weight)
    fc = hexagons(conn, q, resolution=resolution)
    m = offline_map(q.bbox)
    _boundaries(conn, m)
    opacity = load("heat")["hexagon"].get("fill_opacity", 0.7)
    folium.GeoJson(
        {"type": "FeatureCollection", "features": fc["features"]}, name="热力",
        style_function=lambda f: {"fillColor": f["properties"]["color"], "color": "#ffffff", "weight": 0.5,
                                  "fillOpacity": opacity},
        tooltip=folium.GeoJsonTooltip(fields=["count", "weight"], aliases=["数量", "权重"]),
    ).add_to(m)
    span = f"{fc['from'] or '…'} — {fc['to'] or '…'}"
    _legend(m, f"{q.source.title} 热力 (H3 {fc['resolution']} 级)", [(e["color"], e["label"]) for e in fc["legend"]],
            f"<div style='margin-top:4px;color:#666'>{html.escape(span)}<br>合计 {fc['total']['count']} 条</div>")
    folium.LayerControl().add_to(m)
    return m.get_root().render()


def flows_report(conn: psycopg.Connection, *, source: str | None = None, start: str | None = None,
                 stop: str | None = None) -> str:
    """HTML of the flow map (generator clusters → plants, width by tonnes) with the street logistics table."""
    data: dict[str, Any] = flow_data(conn, source=source, start=start, stop=stop)
    style = load("flows")
    pts = [(c["lon"], c["lat"]) for c in data["clusters"]] + [(p["lon"], p["lat"]) for p in data["plants"]]
    bounds = None
    if pts:
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        bounds = (min(xs), min(ys), max(xs), max(ys))
    m = offline_map(bounds)
    _boundaries(conn, m)
    line = style["line"]
    for f in data["features"]:
        p = f["properties"]
        (x0, y0), (x1, y1) = f["geometry"]["coordinates"]
        folium.PolyLine([[y0, x0], [y1, x1]], color=line["color"], weight=p["width"], opacity=line["opacity"],
                        dash_array=" ".join(str(v) for v in line["dash"]),
                        tooltip=f"{p['from_name']} → {p['to_name']}: {p['tonnes']:.2f} t").add_to(m)
    cmax = max((c["tonnes"] for c in data["clusters"]), default=0.0) or 1.0
    cl = style["cluster"]
    for c in data["clusters"]:
        folium.CircleMarker([c["lat"], c["lon"]], radius=cl["radius_min"] + (cl["radius_max"] - cl["radius_min"])
                            * c["tonnes"] / cmax, color=cl["color"], fill=True, fill_opacity=0.6,
                            tooltip=f"{c['name']}: {c['tonnes']:.2f} t, {c['generators']} 家").add_to(m)
    for p in data["plants"]:
        folium.CircleMarker([p["lat"], p["lon"]], radius=style["plant"]["radius"], color=style["plant"]["color"],
                            fill=True, fill_opacity=0.9, tooltip=f"{p['name']}: {p['tonnes']:.2f} t").add_to(m)
    rows = "".join(_street_row(s) for s in data["streets"])
    table = ("<table style='margin-top:6px;border-collapse:collapse'><tr><th>街道</th><th>产生 t</th><th>运输</th>"
             f"<th>末端 t</th></tr>{rows}</table>")
    _legend(m, style["legend"]["title"], [(line["color"], f"{data['from'] or ''} — {data['to'] or ''}")],
            f"<div>合计 {data['total_tonnes']:.1f} t</div>{table}")
    return m.get_root().render()
