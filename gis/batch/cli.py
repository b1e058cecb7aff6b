"""`citygrid batch locate|heat` (and `batch geocode`, added by the geocoder's CLI plug-in)."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import numpy as np
import typer

from gis.errors import InvalidInput

batch_app = typer.Typer(help="Batch work on Dask distributed (a LocalCluster unless --scheduler is given).",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `batch` to the root command (called by gis.cli; geocoder.cli adds `batch geocode`)."""
    app.add_typer(batch_app, name="batch")


SCHEDULER = typer.Option(None, help="Dask scheduler address (default: a LocalCluster on this machine)")
WORKERS = typer.Option(2, help="LocalCluster worker processes")


def read_points(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """CSV with a header naming `lon` and `lat` (or `x` and `y`); an `id` column is carried through. A file
    that is not such a CSV is refused naming the problem (and the line), before any work starts."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            head = [h.strip().lower() for h in next(reader, [])]
            cols = [next((head.index(c) for c in names if c in head), None) for names in (("lon", "x"), ("lat", "y"))]
            if None in cols:
                raise InvalidInput(f"{path}: the header must name lon and lat (or x and y) columns; it has "
                                   f"{', '.join(head) or 'nothing'}")
            ix, iy = cols
            iid = head.index("id") if "id" in head else None
            ids, xs, ys = [], [], []
            for n, row in enumerate(reader):
                try:
                    xs.append(float(row[ix]) if row[ix] else np.nan)
                    ys.append(float(row[iy]) if row[iy] else np.nan)
                except (ValueError, IndexError):
                    raise InvalidInput(f"{path}, line {n + 2}: lon/lat must be numbers, got "
                                       f"{row[ix] if ix < len(row) else '(missing)'!r}, "
                                       f"{row[iy] if iy < len(row) else '(missing)'!r}") from None
                ids.append(row[iid] if iid is not None and iid < len(row) else str(n + 1))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return ids, np.array(xs, dtype=np.float64), np.array(ys, dtype=np.float64)


@batch_app.command("locate")
def locate_cmd(
    input: Path = typer.Argument(..., help="CSV of points: lon,lat[,id]"),
    output: Path | None = typer.Option(None, "--output", "-o", help="CSV out (default stdout)"),
    parts: Path | None = typer.Option(None, "--parts", help="Directory: each worker writes its partition as "
                                      "part-NNNNN.csv there (nothing gathered on this machine)"),
    crs: str | None = typer.Option(None, help="CRS of the input (default CRS84; GCJ02, BD09 too)"),
    scheduler: str | None = SCHEDULER,
    workers: int = WORKERS,
) -> None:
    """Locate every point in the grid hierarchy (district … unit, evaluation and work grids)."""
    from gis import crs as gcrs
    from gis.batch.engine import dask_client, locate_points, locate_to_files
    from gis.db.engine import read_url

    if output and parts:
        raise typer.BadParameter("give --output or --parts, not both", param_hint="--parts")
    ids, x, y = read_points(input)
    sx, sy = gcrs.to_storage(x, y, crs)
    sx, sy = np.asarray(sx, dtype=np.float64), np.asarray(sy, dtype=np.float64)
    t = time.perf_counter()
    with dask_client(scheduler, workers) as client:
        if parts:
            paths = locate_to_files(client, read_url(), sx, sy, str(parts), ids)
            typer.echo(f"located {len(ids):,} points in {time.perf_counter() - t:.1f} s → {len(paths)} parts in "
                       f"{parts}", err=True)
            return
        got = locate_points(client, read_url(), sx, sy)
    elapsed = time.perf_counter() - t
    fh = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        got.write_csv(fh, ids)
    finally:
        if output:
            fh.close()
    typer.echo(f"located {len(ids):,} points in {elapsed:.1f} s", err=True)


@batch_app.command("heat")
def heat_cmd(
    table: str = typer.Option("positions", help="positions or cases"),
    start: str = typer.Option(..., "--from", help="ISO time, inclusive"),
    end: str = typer.Option(..., "--to", help="ISO time, exclusive"),
    res: int = typer.Option(8, help="H3 resolution"),
    output: Path | None = typer.Option(None, "--output", "-o", help="CSV out: h3,count (default stdout)"),
    scheduler: str | None = SCHEDULER,
    workers: int = WORKERS,
) -> None:
    """Count history per H3 cell, one task per month of the range."""
    import h3

    from gis.batch.engine import dask_client, heat
    from gis.db.engine import read_url

    if table not in ("positions", "cases"):
        raise typer.BadParameter("positions or cases", param_hint="--table")
    with dask_client(scheduler, workers) as client:
        cells = heat(client, read_url(), table, start, end, res)
    fh = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        w = csv.writer(fh)
        w.writerow(["h3", "count"])
        for c, k in sorted(cells.items()):
            w.writerow([h3.int_to_str(c), k])
    finally:
        if output:
            fh.close()
