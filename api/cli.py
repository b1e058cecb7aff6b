"""`citygrid serve`: registered on the core CLI through the `citygrid.cli` entry point."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str | None = typer.Option(None, help="Address to bind (default HOST or 127.0.0.1)"),
        port: int | None = typer.Option(None, help="Port (default PORT or 8000)"),
        workers: int = typer.Option(1, help="Worker processes"),
    ) -> None:
        """Serve the API and the web map."""
        import uvicorn

        from gis.logs import configure
        from gis.settings import get_settings

        configure()
        settings = get_settings()
        uvicorn.run(
            "api.app:create_app", factory=True, host=host or settings.host, port=port or settings.port,
            workers=workers, log_level="info", log_config=None, timeout_graceful_shutdown=20,
            timeout_keep_alive=15, limit_concurrency=1000,
            # The client address behind a proxy is the app's decision (CITYGRID_TRUSTED_PROXIES,
            # api/clientaddr.py), not uvicorn's own X-Forwarded-For rewrite (on by default for 127.0.0.1).
            proxy_headers=False,
        )
