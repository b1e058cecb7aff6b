"""Registers the data commands of the core on `citygrid`: import/export, the demo district, grids.

Each command group lives beside the engine it drives; this module only pulls them in.
"""

from __future__ import annotations

import importlib

COMMAND_MODULES = ("gis.io.cli", "gis.demo.cli", "gis.grids.cli", "gis.security.cli", "gis.ops.cli",
                   "gis.stream.cli", "gis.batch.cli")


def load() -> None:
    for name in COMMAND_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if not (exc.name and (name == exc.name or name.startswith(exc.name + "."))):
                raise
