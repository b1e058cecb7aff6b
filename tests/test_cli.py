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


def test_an_unusable_setting_is_refused_naming_its_variable() -> None:
    """A bad environment value ends the command with exit 2 and one line naming the variable, not a
    pydantic traceback (the console script, run as a user would)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).with_name("citygrid")
    for env, variable in ({"CITYGRID_RETENTION_POSITIONS_MONTHS": "six"}, "CITYGRID_RETENTION_POSITIONS_MONTHS"), \
                         ({"PORT": "http"}, "PORT or CITYGRID_PORT"):
        res = subprocess.run([str(script), "db", "status"], env={**os.environ, **env}, capture_output=True,
                             text=True, timeout=60)
        assert res.returncode == 2, res.stderr
        assert res.stderr.startswith(f"error: setting not usable: {variable}=")
        assert "Traceback" not in res.stderr and "valid integer" in res.stderr
