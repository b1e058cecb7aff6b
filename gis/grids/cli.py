"""`citygrid grids …`: topology check, evaluation-grid build, census figures."""

from __future__ import annotations

from pathlib import Path

import orjson
import typer

grids_app = typer.Typer(help="Unit, evaluation and work grids: check, build, count.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add `grids` to the root command (called by gis.cli)."""
    app.add_typer(grids_app, name="grids")


@grids_app.command("check")
def check_cmd(
    out: Path | None = typer.Option(None, "--out", help="Write the problems as GeoJSON to this file"),
    file: Path | None = typer.Option(None, "--file", help="Check unit grids from a GeoJSON file (code property) "
                                     "against the stored communities, instead of the stored unit grids"),
) -> None:
    """Gaps, overlaps, slivers, community crossings, duplicate and mis-prefixed codes. Exit 1 on problems."""
    import numpy as np
    import shapely

    from gis.db.engine import connect
    from gis.grids import topology

    with connect(autocommit=True) as conn:
        if file:
            codes, geoms = topology.read_geojson_grids(file)
            comms = conn.execute("SELECT code, ST_AsBinary(geom) FROM admin_areas WHERE level = 'community' "
                                 "ORDER BY code").fetchall()
            report = topology.check(codes, geoms, [r[0] for r in comms],
                                    np.asarray(shapely.from_wkb([r[1] for r in comms]), dtype=object))
        else:
            report = topology.check_database(conn)
    if out:
        out.write_bytes(orjson.dumps(report.geojson()))
    summary = report.summary()
    typer.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
    for p in report.problems[:50]:
        typer.echo(f"{p['properties']['kind']}: {p['properties']['detail']}")
    if len(report.problems) > 50:
        typer.echo(f"… and {len(report.problems) - 50} more" + (f" (all in {out})" if out else ""))
    if not report.ok:
        raise typer.Exit(1)


@grids_app.command("build-eval")
def build_eval_cmd(
    street: list[str] | None = typer.Option(None, "--street", help="Only these streets (9-digit codes)"),
    no_classes: bool = typer.Option(False, "--no-classes", help="Do not assign A/B/C by component density"),
) -> None:
    """Build (or rebuild) evaluation grids from whole unit grids, per street."""
    import time

    from gis.db.engine import connect
    from gis.grids.evaluation import build_eval_grids

    started = time.perf_counter()
    with connect(autocommit=True) as conn:
        n = build_eval_grids(conn, street or None, assign_classes=not no_classes)
    typer.echo(f"{n} evaluation grids in {time.perf_counter() - started:.1f} s")


@grids_app.command("census")
def census_cmd(
    level: str = typer.Option("district", "--level", help="district, street or community"),
    code: str | None = typer.Option(None, "--code", help="Only areas within this region code"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table"),
) -> None:
    """普查成果 per area: area, unit and responsibility grids, components and density, supervisors."""
    from gis.db.engine import connect
    from gis.grids.census import census

    with connect(autocommit=True) as conn:
        rows = census(conn, level, code)
    if as_json:
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    typer.echo(f"{'code':<13}{'name':<14}{'km²':>9}{'unit':>7}{'unit km²':>10}{'resp':>6}{'resp km²':>10}"
               f"{'comp':>8}{'comp/km²':>10}{'sup':>5}")
    for r in rows:
        typer.echo(f"{r['code']:<13}{(r['name'] or '')[:12]:<14}{r['area_km2']:>9.3f}{r['unit_grids']['count']:>7}"
                   f"{r['unit_grids']['area_m2'] / 1e6:>10.3f}{r['responsibility_grids']['count']:>6}"
                   f"{r['responsibility_grids']['area_m2'] / 1e6:>10.3f}{r['components']['count']:>8}"
                   f"{r['components']['density_per_km2'] or 0:>10.1f}{r['supervisors']:>5}")
