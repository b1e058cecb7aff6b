"""Start-up warm-up: the page's first requests (the OpenAPI document, the collections with their extents)
are answered from caches filled while the server starts, not built on the first visitor's time."""

from __future__ import annotations

import asyncio
import time


def test_the_openapi_document_and_the_extents_are_built_at_start_up(database_url: str) -> None:
    from api.app import create_app
    from api.ogc.collections import COLLECTIONS

    app = create_app()
    assert app.openapi_schema is None

    def missing() -> list[str]:
        st = app.state.services.ogc
        return [c.id for c in COLLECTIONS if c.cacheable and st.extents.get(c.id) is None]

    async def start_and_wait() -> None:
        async with app.router.lifespan_context(app):   # the server's start-up; no request is made
            deadline = time.monotonic() + 30
            while (app.openapi_schema is None or missing()) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert app.openapi_schema is not None and "/ogc/collections" in app.openapi_schema["paths"]
            assert missing() == []

    asyncio.run(start_and_wait())
