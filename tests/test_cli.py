"""The `citygrid` root command: every command module registered the one way (register(app)), names stable."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from gis.cli import CORE_COMMANDS, create_app, register_all

#: Outside tools and the README drive these names; a change here is a breaking change.
COMMANDS = ["import", "export", "backup", "restore", "geocode", "serve", "fence-worker", "broker", "cluster"]
GROUPS = ["db", "demo", "grids", "keys", "users", "audit", "report", "batch"]


def test_root_command_lists_every_command_and_group() -> None:
    app = create_app()
    assert sorted(c.name for c in app.registered_commands) == sorted(COMMANDS)
    assert sorted(g.name for g in app.registered_groups) == sorted(GROUPS)


def test_each_app_is_built_afresh() -> None:
    # Registering twice on one root would duplicate commands; create_app never shares a root.
    first, second = create_app(), create_app()
    assert len(first.registered_commands) == len(second.registered_commands) == len(COMMANDS)


def test_a_broken_command_module_warns_and_the_rest_still_work(capsys) -> None:
    from importlib.metadata import EntryPoint

    app = typer.Typer()
    broken = EntryPoint(name="broken", value="gis.no_such_module:register", group="citygrid.cli")
    register_all(app, [broken, *CORE_COMMANDS])
    assert "command group 'broken' unavailable" in capsys.readouterr().err
    res = CliRunner().invoke(app, ["db", "--help"])
    assert res.exit_code == 0 and "migrate" in res.output
