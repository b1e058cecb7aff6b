"""The HTML encoding (`f=html` or a browser's Accept header): small server-rendered pages, no
scripts or CDN, Chinese titles, links between the same resources as the JSON."""

from __future__ import annotations

from pathlib import Path

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.ogc import openapi
from api.ogc.state import ogc

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html"]))
_env.filters["json"] = lambda v: orjson.dumps(v, option=orjson.OPT_INDENT_2).decode()


def render(template: str, doc: dict, request: Request, headers: dict | None = None) -> HTMLResponse:
    page = _env.get_template(template).render(doc=doc, base=str(request.base_url).rstrip("/") + "/ogc")
    return HTMLResponse(page, headers=headers)


def swagger(request: Request) -> HTMLResponse:
    """A plain listing of the OpenAPI paths (the Swagger UI would need a CDN)."""
    doc = orjson.loads(openapi.document(request.app, str(request.base_url).rstrip("/") + "/ogc",
                                        ogc(request).openapi))
    return render("api.html", doc, request)
