"""`citygrid demo load` and `citygrid demo generate`: the demo district into the database or to files."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import typer

from gis.settings import get_settings

demo_app = typer.Typer(help="The demo district (310113 宝山区; real codes, synthetic geometry).",
                       no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `demo` to the root command (called by gis.cli)."""
    app.add_typer(demo_app, name="demo")


def _end(value: str | None) -> date:
    from gis.demo.generate import DEFAULT_END

    return date.fromisoformat(value) if value else DEFAULT_END


@demo_app.command("load")
def demo_load(
    if_empty: bool = typer.Option(False, "--if-empty", help="Load only when admin_areas is empty."),
    scale: float = typer.Option(1.0, "--scale", help="Size relative to a real district (0.05 for tests)."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: settings.demo_seed)."),
    end_date: str | None = typer.Option(None, "--end-date", help="Last day of the history (YYYY-MM-DD)."),
) -> None:
    """Generate the demo district and load it, replacing any demo data already there."""
    from gis.db.engine import connect
    from gis.demo.generate import generate
    from gis.demo.load import is_empty, load

    seed = get_settings().demo_seed if seed is None else seed
    with connect() as conn:
        if if_empty and not is_empty(conn):
            typer.echo("demo: the database already holds areas; nothing loaded (drop --if-empty to replace them)")
            return
        t0 = time.perf_counter()
        ds = generate(seed, scale, _end(end_date), get_settings().timezone)
        t_gen = time.perf_counter() - t0
        typer.echo(f"generated seed {seed} scale {scale} in {t_gen:.1f} s (checksum {ds.checksum()[:16]})")
        timings = load(conn, ds, progress=typer.echo)
        typer.echo(f"loaded in {time.perf_counter() - t0 - t_gen:.1f} s "
                   f"(copy {timings['copy_total']:.1f} s, eval {timings['eval_seconds']:.1f} s, "
                   f"analyze {timings['analyze']:.1f} s); total {time.perf_counter() - t0:.1f} s")


@demo_app.command("generate")
def demo_generate(
    out_dir: Path = typer.Argument(..., help="Directory for the GeoJSON files."),
    scale: float = typer.Option(1.0, "--scale"),
    seed: int | None = typer.Option(None, "--seed"),
    end_date: str | None = typer.Option(None, "--end-date"),
) -> None:
    """Generate the demo district to GeoJSON files (GB/T 30428.3 field names for the geocoding layers)."""
    from gis.demo.export import write_dataset
    from gis.demo.generate import generate

    seed = get_settings().demo_seed if seed is None else seed
    ds = generate(seed, scale, _end(end_date), get_settings().timezone)
    for path, n in write_dataset(ds, out_dir).items():
        typer.echo(f"{path}: {n:,} features")
