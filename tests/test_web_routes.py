"""The web router: the page, its hashed assets (immutable, gzip twins), the shared styles and the config."""

from __future__ import annotations

import re

import pytest

from gis.settings import ROOT

DIST = ROOT / "web" / "dist"


@pytest.mark.skipif(not (DIST / "index.html").exists(), reason="web/dist not built (scripts/setup.sh)")
def test_page_and_assets_are_cached_right(http: object) -> None:
    page = http.get("/")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-cache"
    assert "CityGrid" in page.text
    script = re.search(r'src="(/assets/[^"]+\.js)"', page.text).group(1)
    plain = http.get(script, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200
    assert "immutable" in plain.headers["cache-control"]
    assert plain.headers["content-type"].startswith(("text/javascript", "application/javascript"))
    zipped = http.get(script, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers.get("content-encoding") == "gzip"
    assert zipped.content == plain.content  # httpx decodes the gzip twin back to the same bytes
    assert http.get("/assets/..%2F..%2Fpyproject.toml").status_code == 404
    assert http.get("/assets/nope.js").status_code == 404


def test_styles_and_config(http: object) -> None:
    styles = http.get("/styles/layers.json")
    assert styles.status_code == 200
    doc = styles.json()
    assert {"admin_areas", "unit_grids", "components", "waste_facilities"} <= set(doc["layers"])
    assert [i["value"] for i in doc["layers"]["components"]["classes"]["items"]] == ["01", "02", "03", "04", "05"]
    assert http.get("/styles/labels.json").json()["match_level"]["doorplate"] == "门牌"
    assert http.get("/styles/missing.json").status_code == 404
    config = http.get("/web/config.json").json()
    assert config["basemap"]["tiles"] == []  # no external basemap unless configured: nothing leaves the machine
    cats = http.get("/web/categories.json").json()
    assert {"major": "01", "minor": "01", "major_name": "公用设施", "name": "上水井盖"} in cats["component"]
    assert config["basemaps"] == []  # the switcher offers only the local light/dark basemaps


def test_basemaps_offered_only_when_configured() -> None:
    from types import SimpleNamespace

    from api.routers.web import basemaps

    assert basemaps(SimpleNamespace(tianditu_key=None, web_basemap_tiles=[], web_basemap_attribution="")) == []
    got = basemaps(SimpleNamespace(tianditu_key="K", web_basemap_tiles=["http://tiles.local/{z}/{x}/{y}.png"],
                                   web_basemap_attribution="本地瓦片"))
    assert [b["id"] for b in got] == ["tdt-vec", "tdt-img", "custom"]
    img, annotation = got[1]["tiles"]
    assert "LAYER=img" in img[0] and "LAYER=cia" in annotation[0] and "tk=K" in img[0]
    assert got[2]["tiles"] == [["http://tiles.local/{z}/{x}/{y}.png"]]
