"""Helpers of the browser tests (a helper module: test modules import it, never each other): Debian's
Chromium through Playwright, a page watched for console errors and requests leaving the machine,
screenshots into var/screenshots/, and map coordinates on screen."""

from __future__ import annotations

from urllib.parse import urlparse

from gis.settings import ROOT

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
SHOTS = ROOT / "var" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


class Watched:
    """A page with its console errors and the requests that left the machine."""

    def __init__(self, page: object) -> None:
        self.page = page
        self.errors: list[str] = []
        self.outside: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("request", self._request)
        page.on("response", lambda r: self.errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)

    def _request(self, request: object) -> None:
        url = urlparse(request.url)
        if url.scheme in ("data", "blob", "about"):
            return
        if url.hostname not in LOCAL_HOSTS:
            self.outside.append(request.url)


def open_map(browser: object, base: str, width: int = 1280, height: int = 800, path: str = "/") -> Watched:
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    watched = Watched(page)
    page.goto(base + path)
    page.wait_for_function("window.citygrid && (window.citygrid.ready || window.citygrid.failed)", timeout=20_000)
    assert page.evaluate("window.citygrid.failed || null") is None
    page.evaluate("window.citygrid.whenIdle()")
    return watched


def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def screen_xy(page: object, lon: float, lat: float) -> tuple[float, float]:
    return tuple(page.evaluate(
        "([x, y]) => { const m = window.citygrid.map; const p = m.project([x, y]);"
        " const r = m.getCanvas().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }", [lon, lat]))
