"""Test harness: a throwaway database per test session (per xdist worker) on the project-local
cluster or on the server of DATABASE_URL, migrated to head; and a real uvicorn server on a free port.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import grid_fixtures
import io_helpers
import layers_world
import psycopg
import pytest
from browser_kit import ARGS, CHROMIUM
from databases import own_database
from sqlalchemy.engine import make_url
from tables import DATA_TABLES

from gis.db import engine as db_engine


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL") or os.environ.get("CITYGRID_DATABASE_URL")
    if url:
        return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    from gis.db.cluster import local_cluster

    cluster = local_cluster()
    cluster.start()
    return cluster.url()


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    saved = os.environ.get("DATABASE_URL")
    with own_database(_server_url(), "citygrid_test", seeded=True) as url:
        os.environ["DATABASE_URL"] = url
        db_engine.reset_caches()
        try:
            yield url
        finally:
            if saved is None:
                os.environ.pop("DATABASE_URL", None)
            else:
                os.environ["DATABASE_URL"] = saved
            db_engine.reset_caches()


@pytest.fixture
def own_db(database_url: str) -> Iterator[Callable[..., str]]:
    """Makes databases of the test's own (the session database is shared by every other test): at a
    migration `revision` (None: empty), with the reference data if `seeded`; dropped after the test."""
    with ExitStack() as stack:
        def make(revision: str | None = "head", *, seeded: bool = False) -> str:
            return stack.enter_context(own_database(database_url, "citygrid_own", revision, seeded))

        yield make


@pytest.fixture
def db(database_url: str) -> Iterator[psycopg.Connection]:
    """A connection to the test database (autocommit)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def clean_db(database_url: str) -> Iterator[str]:
    """Empties the data tables before the test, so it starts from a known state."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE " + ", ".join(DATA_TABLES) + " RESTART IDENTITY CASCADE")
    # Principals' areas are resolved once per app (name and box kept `Areas.ttl_s`); the districts the
    # tests load reuse codes with other boundaries, so a box kept from an earlier module would narrow
    # the scoped heat of the next one.
    for app in _LIVE_APPS:
        services = getattr(app.state, "services", None)
        if services is not None:
            services.areas.clear()
    yield database_url


# -- The three hand-made districts. Each test module that needs one asks for it by name; their data live
# in helper modules (tests/grid_fixtures.py, io_helpers.py, layers_world.py), which the tests import for
# the codes and coordinates they assert on.


@pytest.fixture
def grid_district(clean_db: str, db: psycopg.Connection) -> psycopg.Connection:
    """The grid-engine district (tests/grid_fixtures.py): 2 streets, 3 communities, 6 unit grids, eval and
    work grids. Codes, locate, census, assignment and the grid endpoints are checked against it."""
    grid_fixtures.load_district(db)
    return db


@pytest.fixture
def grid_district_with_components(grid_district: psycopg.Connection) -> psycopg.Connection:
    """The grid district and four components (grid_fixtures.COMPONENTS), for the census figures."""
    grid_fixtures.add_components(grid_district)
    return grid_district


@pytest.fixture
def io_district(clean_db: str, db: psycopg.Connection) -> psycopg.Connection:
    """The import/export district (tests/io_helpers.py): one street, two communities, two unit grids."""
    io_helpers.load_district(db)
    return db


@pytest.fixture
def io_district_with_components(io_district: psycopg.Connection) -> psycopg.Connection:
    """The import/export district and the components CID1 and CID2 (io_helpers), for the export tests."""
    io_helpers.add_components(io_district)
    return io_district


@pytest.fixture
def layers_district(clean_db: str, db: psycopg.Connection) -> psycopg.Connection:
    """The layer-tests district (tests/layers_world.py): four unit grids and 162 cases in January 2024."""
    layers_world.load_district(db)
    return db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: The apps of the live servers of this session (their process state is reset between tests).
_LIVE_APPS: list[object] = []


@pytest.fixture(scope="session")
def live_app(database_url: str) -> object:
    """The FastAPI app the live server runs (tests reach its process state: `app.state.services`)."""
    from api.app import create_app

    app = create_app()
    _LIVE_APPS.append(app)
    return app


@pytest.fixture(scope="session")
def live_server(live_app: object) -> Iterator[str]:
    """A real HTTP server (uvicorn in a thread) on the test database; yields its base URL."""
    import uvicorn

    port = _free_port()
    # proxy_headers=False as `citygrid serve` runs it: X-Forwarded-For is the app's to judge (trusted_proxies)
    config = uvicorn.Config(live_app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def http(live_server: str) -> Iterator[httpx.Client]:  # noqa: F821
    import httpx

    with httpx.Client(base_url=live_server, timeout=30) as client:
        yield client


@pytest.fixture(autouse=True)
def _fresh_auth_limits() -> Iterator[None]:
    """Tests share 127.0.0.1: one test's deliberate bad keys must not lock the others out."""
    yield
    for app in _LIVE_APPS:
        services = getattr(app.state, "services", None)
        if services is not None:
            services.limits.reset()
            services.principals.clear()  # (keys' principals are kept a few seconds: api/principals.py)


@pytest.fixture(scope="session")
def api_keys(database_url: str) -> dict[str, str]:
    """One active key per role: {"viewer": secret, …, "device": secret (vehicles dev-1, dev-2)}."""
    from gis.security.keys import ALL_ROLES, create_key

    keys: dict[str, str] = {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        for role in ALL_ROLES:
            _, keys[role] = create_key(conn, f"test-{role}", role, ["dev-1", "dev-2"] if role == "device" else None)
    return keys


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Chromium (Debian's) for the browser tests, one per test module."""
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    # Not a skip: scripts/setup.sh installs both, so their absence is a broken set-up.
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run scripts/setup.sh"
    root = Path(__file__).resolve().parents[1]
    assert (root / "web" / "dist" / "index.html").exists(), "web/dist is not built: run scripts/setup.sh"
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
