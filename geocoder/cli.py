"""`citygrid geocode FILE [--out F]`: batch geocoding of a CSV, NDJSON or Excel file from the shell.

Registered on the core CLI through the `citygrid.cli` entry point group (see pyproject.toml).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    _register_batch()
    @app.command("geocode")
    def geocode_file(
        file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                    help="CSV, NDJSON/JSONL or .xlsx of addresses"),
        out: Path | None = typer.Option(None, "--out", "-o",
                                        help="Write here (.csv → CSV, else NDJSON); default stdout"),
        crs: str | None = typer.Option(None, help="CRS of the output coordinates (default CRS84)"),
        fmt: str | None = typer.Option(None, "--format", help="Input format: csv, ndjson or xlsx (default: guessed)"),
    ) -> None:
        """Geocode every address of FILE, answers in input order (one per row, no match included)."""
        from geocoder import batch
        from geocoder.index import ReferenceIndex
        from gis.db.engine import connect

        data = file.read_bytes()
        kind = fmt or batch.detect_format(None, file.name, data[:8])
        rows = list(batch.read_rows(data, kind))
        as_csv = out is not None and out.suffix.lower() == ".csv"
        matched = 0
        with connect(autocommit=True) as conn:
            feats = batch.answers(conn, rows, crs, index=ReferenceIndex.load(conn))

            def counted():
                nonlocal matched
                for f in feats:
                    matched += f["geometry"] is not None
                    yield f

            lines = batch.csv_lines(counted()) if as_csv else batch.ndjson_lines(counted())
            sink = out.open("wb") if out else sys.stdout.buffer
            try:
                for line in lines:
                    sink.write(line)
            finally:
                if out:
                    sink.close()
        typer.echo(f"{len(rows)} addresses, {matched} matched, {len(rows) - matched} without a match"
                   + (f" → {out}" if out else ""), err=True)


def _register_batch() -> None:
    """`citygrid batch geocode` on the core's `batch` group (gis.batch.cli), Dask distributed."""
    from gis.batch.cli import SCHEDULER, WORKERS, batch_app

    @batch_app.command("geocode")
    def batch_geocode(
        file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV, NDJSON/JSONL or .xlsx of addresses"),
        out: Path | None = typer.Option(None, "--out", "-o", help="NDJSON out (default stdout)"),
        crs: str | None = typer.Option(None, help="CRS of the output coordinates (default CRS84)"),
        scheduler: str | None = SCHEDULER,
        workers: int = WORKERS,
    ) -> None:
        """Geocode every address of FILE on Dask workers; answers in input order, as NDJSON, written as
        each chunk comes back (workers send NDJSON bytes, not objects: see geocoder/batchjobs.py)."""
        import time

        from geocoder import batch
        from geocoder.batchjobs import geocode_ndjson
        from gis.batch.engine import dask_client
        from gis.db.engine import read_url

        data = file.read_bytes()
        rows = list(batch.read_rows(data, batch.detect_format(None, file.name, data[:8])))
        matched = 0
        t = time.perf_counter()
        fh = out.open("wb") if out else sys.stdout.buffer
        try:
            with dask_client(scheduler, workers) as client:
                for body, hits in geocode_ndjson(client, read_url(), rows, crs):
                    fh.write(body)
                    matched += hits
        finally:
            if out:
                fh.close()
        typer.echo(f"geocoded {len(rows):,} addresses ({matched:,} matched) in {time.perf_counter() - t:.1f} s",
                   err=True)
