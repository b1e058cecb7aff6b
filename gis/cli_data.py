"""Data commands of `citygrid`: demo, import, export (registered on the core app)."""

from __future__ import annotations

from gis.cli import app  # noqa: F401
