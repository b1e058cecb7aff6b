"""The validated heat request, shared by the point path (layers.heat), the rollup and the rasters.

It lives apart from layers.heat so that layers.rollup can take it without importing the module that
calls it (heat → rollup → heat was a cycle, hidden under TYPE_CHECKING).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gis import catalog
from gis.errors import InvalidInput
from gis.params import BBox
from gis.security import scope
from gis.security.scope import Area

from .sources import HeatSource


@dataclass
class HeatQuery:
    """A validated heat request (the filters; resolution and viewport are chosen per output)."""

    source: HeatSource
    bbox: BBox | None
    start: datetime | None = None
    stop: datetime | None = None
    categories: list[str] = field(default_factory=list)
    weight: str | None = None  # SQL column, None = count
    #: The caller's area (gis/security/scope.py): only points inside it count; None = the whole city.
    area: Area | None = None

    def where(self, alias: str = "") -> tuple[list[str], dict[str, Any]]:
        """SQL conditions and their parameters (column names come from the registry, never the caller)."""
        p = f"{alias}." if alias else ""
        conds: list[str] = []
        params: dict[str, Any] = {}
        src = self.source
        if src.where:
            conds.append(f"({src.where})")
        if self.area is not None:
            cond, values = scope.named(*scope.condition(catalog.get(src.id), self.area, alias or src.table))
            conds.append(cond)
            params.update(values)
        if src.time_column:
            if self.start:
                conds.append(f"{p}{src.time_column} >= %(start)s")
                params["start"] = self.start
            if self.stop:
                conds.append(f"{p}{src.time_column} < %(stop)s")
                params["stop"] = self.stop
        if self.categories:
            if src.category == "class":
                majors, pairs = _class_filter(self.categories)
                ors = []
                if majors:
                    ors.append(f"{p}major = ANY(%(majors)s)")
                    params["majors"] = majors
                if pairs:
                    ors.append(f"({p}major || {p}minor) = ANY(%(pairs)s)")
                    params["pairs"] = pairs
                conds.append("(" + " OR ".join(ors) + ")")
            else:
                conds.append(f"{p}{src.category} = ANY(%(cats)s)")
                params["cats"] = self.categories
        return conds, params

    @property
    def cacheable(self) -> bool:
        """Answers of plain indexed tables are cached (their changes are counted in ogc_changes)."""
        return self.source.indexed and not self.source.select and self.bbox is not None

    def key(self) -> tuple:
        """What identifies the answer, apart from resolution and output format."""
        return (self.source.id, self.bbox, self.start, self.stop, tuple(self.categories), self.weight,
                self.area.code if self.area else None)

    def weight_sql(self, alias: str = "") -> str:
        return f"{alias + '.' if alias else ''}{self.weight}" if self.weight else "1"


def _class_filter(values: list[str]) -> tuple[list[str], list[str]]:
    """`01` (大类), `0101` (大类+小类) or a 10-digit type code `3101130101` → majors and major+minor pairs."""
    majors, pairs = [], []
    for v in values:
        if not v.isdigit() or len(v) not in (2, 4, 10):
            raise InvalidInput(f"category {v!r} must be a 大类 (2 digits), 大类+小类 (4) or a 10-digit type code")
        if len(v) == 2:
            majors.append(v)
        else:
            pairs.append(v[-4:])
    return majors, pairs
