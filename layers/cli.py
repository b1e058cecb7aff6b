"""`citygrid report heat|flows --out FILE.html`: registered through the `citygrid.cli` entry point."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    report = typer.Typer(help="Static map reports (folium HTML that opens offline).", no_args_is_help=True)
    app.add_typer(report, name="report")

    @report.command("heat")
    def heat(
        out: Path = typer.Option(..., "--out", help="HTML file to write"),
        source: str = typer.Option("cases", help="heat source id (cases, complaints, components, waste_records …)"),
        start: str | None = typer.Option(None, "--from", help="ISO date/time"),
        stop: str | None = typer.Option(None, "--to", help="ISO date/time (a bare date: to its end)"),
        category: str | None = typer.Option(None, help="category filter"),
        weight: str | None = typer.Option(None, help="weight column or count"),
        resolution: int | None = typer.Option(None, help="H3 resolution"),
    ) -> None:
        """Hexagon heat map of a source over the district."""
        from gis.db.engine import connect
        from layers.report import heat_report

        with connect(autocommit=True) as conn:
            text = heat_report(conn, source=source, start=start, stop=stop, category=category, weight=weight,
                               resolution=resolution)
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out} ({out.stat().st_size // 1024} KiB)")

    @report.command("cells")
    def cells() -> None:
        """Compute the H3 cells of every heat source now (after a bulk load), instead of on first use."""
        from gis.db.engine import connect
        from layers.cells import ensure_cells
        from layers.sources import SOURCES

        with connect(autocommit=True) as conn:
            for src in {s.table: s for s in SOURCES.values() if s.indexed}.values():
                typer.echo(f"{src.table}: {ensure_cells(conn, src)} cells computed")

    @report.command("flows")
    def flows(
        out: Path = typer.Option(..., "--out", help="HTML file to write"),
        source: str | None = typer.Option(None, help="waste kind (default kitchen)"),
        start: str | None = typer.Option(None, "--from", help="ISO date/time; default the last 30 days of data"),
        stop: str | None = typer.Option(None, "--to", help="ISO date/time"),
    ) -> None:
        """Flow map: generator clusters → disposal plants, with the per-street logistics table."""
        from gis.db.engine import connect
        from layers.report import flows_report

        with connect(autocommit=True) as conn:
            text = flows_report(conn, source=source, start=start, stop=stop)
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out} ({out.stat().st_size // 1024} KiB)")
