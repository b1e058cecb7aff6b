"""`citygrid import` and `citygrid export` (registered on the root command by gis.cli).

Exit codes of import: 0 every row stored; 1 the file was rejected (nothing stored, every rejected row
printed); 3 with --keep-good, the good rows were stored and the rejected ones printed.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from gis.errors import ImportRejected
from gis.io.layers import LAYER_NAMES

_LAYERS = ", ".join(LAYER_NAMES) + " (regions = admin_areas)"


def register(app: typer.Typer) -> None:
    """Add `import` and `export` to the root command (called by gis.cli)."""
    app.command("import")(import_cmd)
    app.command("export")(export_cmd)


def import_cmd(
    layer: str = typer.Argument(..., help=f"Target layer: {_LAYERS}."),
    file: Path = typer.Argument(..., help="A .geojson, .gpkg, .shp, .csv or .xlsx file (CSV/Excel: lon/lat or WKT "
                                "column; shops: an address column is enough)."),
    crs: str | None = typer.Option(None, "--crs", help="CRS of the file's coordinates (EPSG:4549, CRS84, GCJ02 "
                                   "…); default: the one the file declares, else EPSG:4490."),
    mode: str = typer.Option("append", "--mode", help="append, or replace (empty the layer first, same "
                             "transaction)."),
    encoding: str | None = typer.Option(None, "--encoding", help="Text encoding (UTF-8, GBK, GB18030); default: "
                                        "a shapefile's .cpg, else detected."),
    keep_good: bool = typer.Option(False, "--keep-good", help="Store the good rows and report the rejected ones "
                                   "(default: all or nothing)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
    min_confidence: float = typer.Option(0.6, "--min-confidence", help="Layers placed by address (shops): "
                                         "rows whose match is less sure than this are not placed."),
) -> None:
    """Import a file into a layer: validated, all-or-nothing unless --keep-good."""
    from gis.db.engine import connect
    from gis.io.load import format_rejected, import_file

    with connect() as conn:
        try:
            report = import_file(conn, layer, file, crs=crs, mode=mode, keep_good=keep_good, encoding=encoding,
                                 min_confidence=min_confidence)
        except ImportRejected as exc:
            if as_json:
                typer.echo(json.dumps({"error": exc.code, "detail": exc.detail, "rejected": exc.rows},
                                      ensure_ascii=False, indent=1))
            else:
                for line in format_rejected(exc.rows):
                    typer.echo(line, err=True)
                typer.echo(f"rejected: {exc.detail}", err=True)
            raise typer.Exit(1) from None
        from gis.security import audit

        audit.record(conn, audit.cli_actor(), "import", report.layer, remote="local",
                     detail={"file": str(file), "mode": report.mode, "inserted": report.inserted,
                             "deleted": report.deleted, "rejected": len(report.rejected)})
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1, default=str))
    else:
        for w in report.warnings:
            typer.echo(f"warning: {w}", err=True)
        for line in format_rejected(report.rejected):
            typer.echo(line, err=True)
        replaced = f", {report.deleted} replaced" if report.mode == "replace" else ""
        typer.echo(f"{report.layer}: {report.inserted} of {report.read} features imported{replaced}"
                   f" ({report.format}, {report.crs}, {report.encoding}, {report.seconds:.1f} s)"
                   + (f"; {len(report.rejected)} rejected" if report.rejected else ""))
    if report.rejected:
        raise typer.Exit(3)


def export_cmd(
    layer: str = typer.Argument(..., help=f"Layer: {_LAYERS}."),
    file: Path = typer.Argument(..., help="A .geojson (RFC 7946, CRS84) or .gpkg file."),
    crs: str | None = typer.Option(None, "--crs", help="Output CRS (GeoPackage only; default EPSG:4490)."),
    where: list[str] = typer.Option(None, "--where", help="COLUMN=VALUE filter (VALUE* for a prefix); "
                                    "repeatable."),
) -> None:
    """Export a layer to GeoJSON or GeoPackage (from the hot standby when CITYGRID_READS_ON_STANDBY is set)."""
    from gis.db.engine import connect, read_url
    from gis.io.export import export_layer

    with connect(read_url()) as conn:
        n = export_layer(conn, layer, file, crs=crs, where=where)
    typer.echo(f"{layer}: {n} features written to {file}")
