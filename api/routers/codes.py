"""`GET /api/codes/{code}`: parse and validate any code (kind, segments with names) or a 422."""

from __future__ import annotations

from typing import Any

import psycopg
from fastapi import APIRouter, Depends, Query

from api.deps import db
from api.models import CodeAnswer
from gis import codes

router = APIRouter(tags=["codes"])


@router.get("/api/codes/{code}", response_model=CodeAnswer, response_model_exclude_unset=True)
def get_code(
    code: str,
    kind: str | None = Query(None, description="Read the code as this kind (e.g. eval_grid for a 12-digit code)"),
    conn: psycopg.Connection = Depends(db),
) -> dict[str, Any]:
    """The code's kind and segments with their names; `interpretations` lists every valid reading
    (a 12-digit code may be a community or an evaluation grid, a 10-digit one a component or event type)."""
    found = codes.validate(conn, code, kind)
    best = found[0].as_dict()
    return {**best, "ambiguous": len(found) > 1, "interpretations": [p.as_dict() for p in found]}
