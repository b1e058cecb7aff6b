"""The web map: `/` and its built assets (web/dist), the shared styles (styles/*.json) and the page's
start-up configuration.

Caching: bundle files carry a content hash in their name, so they are immutable for a year; the page
itself and the styles are revalidated on every load (ETag), so a rebuild or a colour change shows at once.
Pre-compressed `.gz` twins written by the build are sent to clients that accept gzip.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import psycopg
from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.deps import db
from api.responses import JSONResponse
from gis.errors import NotFound
from gis.settings import ROOT, get_settings

router = APIRouter(tags=["web map"])

DIST = ROOT / "web" / "dist"
STYLES = ROOT / "styles"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

#: 天地图 WMTS (EPSG:3857 tile matrix set "w"): vector map and its Chinese annotation.
TIANDITU = [
    "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
]

NOT_BUILT = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>CityGrid</title>
<body style="font-family:sans-serif;margin:3em"><h1>网页地图尚未构建</h1>
<p>The web map has not been built: run <code>scripts/setup.sh</code>
(or <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>) and reload.</p>
<p>API: <a href="/docs">/docs</a> · OGC API: <a href="/ogc">/ogc</a></p></body></html>"""


def _inside(base: Path, relative: str) -> Path:
    """The file `relative` under `base`, refusing anything that escapes it or does not exist."""
    path = (base / relative).resolve()
    if not path.is_relative_to(base.resolve()) or not path.is_file():
        raise NotFound(f"no such file: {relative}")
    return path


def _file(request: Request, path: Path, cache: str) -> Response:
    """A file answer, gzip-encoded from its pre-compressed twin when there is one and the client accepts it."""
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if media_type in ("text/javascript", "application/javascript", "text/css", "text/html", "application/json"):
        media_type += "; charset=utf-8"
    headers = {"Cache-Control": cache, "Vary": "Accept-Encoding"}
    gz = path.with_name(path.name + ".gz")
    if "gzip" in request.headers.get("accept-encoding", "") and gz.is_file():
        headers["Content-Encoding"] = "gzip"
        return FileResponse(gz, media_type=media_type, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers)


@router.get("/", include_in_schema=False)
def index(request: Request) -> Response:
    page = DIST / "index.html"
    if not page.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": REVALIDATE})
    return _file(request, page, REVALIDATE)


@router.get("/docs", include_in_schema=False)
def docs(request: Request) -> Response:
    """The interactive API page, its Swagger UI from web/dist/swagger (npm swagger-ui-dist): works offline."""
    if not (DIST / "swagger" / "swagger-ui-bundle.js").is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": REVALIDATE})
    page = get_swagger_ui_html(openapi_url=request.app.openapi_url, title="CityGrid API",
                               swagger_js_url="/swagger/swagger-ui-bundle.js",
                               swagger_css_url="/swagger/swagger-ui.css",
                               swagger_favicon_url="/swagger/favicon-32x32.png")
    page.headers["Cache-Control"] = REVALIDATE
    return page


@router.get("/swagger/{name}", include_in_schema=False)
def swagger_asset(name: str, request: Request) -> Response:
    return _file(request, _inside(DIST / "swagger", name), REVALIDATE)


@router.get("/assets/{name:path}", include_in_schema=False)
def asset(name: str, request: Request) -> Response:
    return _file(request, _inside(DIST / "assets", name), IMMUTABLE)


@router.get("/styles/{name}.json", summary="Layer styles and legends shared by the web map and the tiles")
def style(name: str, request: Request) -> Response:
    return _file(request, _inside(STYLES, f"{name}.json"), REVALIDATE)


def basemaps(settings: Any) -> list[dict[str, Any]]:
    """The raster basemaps the page's switcher may offer besides the district's own vector layers (light
    and dark, always there): 天地图 vector and imagery with their annotation when a key is configured,
    and a configured XYZ/WMTS template. Without configuration the list is empty and nothing leaves the
    machine (the page shows the 天地图 options disabled, saying what to configure)."""
    out: list[dict[str, Any]] = []
    if settings.tianditu_key:
        key = settings.tianditu_key
        for ident, title, layers in (("tdt-vec", "天地图矢量", ("vec", "cva")),
                                     ("tdt-img", "天地图影像", ("img", "cia"))):
            tiles = [[TIANDITU[0].format(s=s, layer=layer, key=key) for s in range(8)] for layer in layers]
            out.append({"id": ident, "title": title, "attribution": "© 天地图", "tiles": tiles})
    if settings.web_basemap_tiles:
        out.append({"id": "custom", "title": "自定义底图", "attribution": settings.web_basemap_attribution,
                    "tiles": [list(settings.web_basemap_tiles)]})
    return out


@router.get("/web/config.json", summary="Start-up configuration of the web map (basemap)")
def config() -> JSONResponse:
    settings = get_settings()
    tiles: list[list[str]] = []
    if settings.tianditu_key:
        for layer in ("vec", "cva"):
            tiles.append([TIANDITU[0].format(s=s, layer=layer, key=settings.tianditu_key) for s in range(8)])
    if settings.web_basemap_tiles:
        tiles.append(list(settings.web_basemap_tiles))
    attribution = settings.web_basemap_attribution or ("© 天地图" if settings.tianditu_key else "")
    return JSONResponse(
        {"basemap": {"tiles": tiles, "attribution": attribution}, "basemaps": basemaps(settings),
         "storage_srid": 4490, "timezone": settings.timezone,
         # the login dialog offers single sign-on when an issuer is configured
         "auth": {"password": True, "sso": bool(settings.oidc_discovery_url and settings.oidc_client_id)}},
        headers={"Cache-Control": REVALIDATE},
    )


@router.get("/web/categories.json", summary="部件/事件 大类 and 小类 names for the layer tree")
def categories(conn: psycopg.Connection = Depends(db)) -> JSONResponse:
    rows = conn.execute(
        "SELECT kind, major, minor, major_name, name FROM categories ORDER BY kind, major, minor"
    ).fetchall()
    out: dict[str, list[dict[str, str]]] = {}
    for kind, major, minor, major_name, name in rows:
        out.setdefault(kind, []).append({"major": major, "minor": minor, "major_name": major_name, "name": name})
    return JSONResponse(out, headers={"Cache-Control": "public, max-age=300"})
