"""Direction words, and the metric frame of the reference data (gis.metric.LocalFrame).

Matching measures distances, offsets (东50米) and positions along streets in metres, in the tangent
plane of gis.metric centred on the district: exact to invert, within 1 % of the zone's metres, all numpy.
"""

from __future__ import annotations

import math

#: Unit vectors (east, north) of the direction words of GB/T 30428.3.
DIRECTIONS: dict[str, tuple[float, float]] = {
    "东": (1.0, 0.0), "西": (-1.0, 0.0), "南": (0.0, -1.0), "北": (0.0, 1.0),
    "东北": (math.sqrt(0.5), math.sqrt(0.5)), "东南": (math.sqrt(0.5), -math.sqrt(0.5)),
    "西北": (-math.sqrt(0.5), math.sqrt(0.5)), "西南": (-math.sqrt(0.5), -math.sqrt(0.5)),
}


def direction_of(dx: float, dy: float) -> str:
    """The 8-way direction word of a vector (east, north) in metres: where the point lies."""
    angle = math.degrees(math.atan2(dy, dx)) % 360  # 0 = east, counter-clockwise
    names = ["东", "东北", "北", "西北", "西", "西南", "南", "东南"]
    return names[int(((angle + 22.5) % 360) // 45)]
