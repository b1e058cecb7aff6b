"""Alarm webhooks: other systems subscribe a URL and receive every alarm event, signed, in order, once
(delivery: gis/fences/webhooks.py, a worker thread of the server). Planner key."""

from __future__ import annotations

import secrets
from typing import Any

import psycopg
from fastapi import APIRouter, Body, Depends, Response
from pydantic import BaseModel, Field, field_validator

from api.auth import require_role
from api.deps import db
from gis.errors import NotFound

router = APIRouter(tags=["alarms"])

_COLS = ("id, url, kinds, vehicles, active, last_event_id, attempts, failing_since, next_attempt_at, last_error, "
         "delivered, failures, dead, last_latency_ms, created, "
         "(SELECT coalesce(max(e.id), 0) FROM alarm_events e) - last_event_id AS backlog_upper_bound")


class Subscription(BaseModel):
    url: str = Field(..., pattern=r"^https?://", description="where each alarm event is POSTed")
    kinds: list[str] = Field(default_factory=list, description="alarm kinds to send (empty: all)")
    vehicles: list[str] = Field(default_factory=list, description="vehicle ids to send (empty: all)")
    secret: str | None = Field(None, min_length=16, description="HMAC key (generated when absent; shown once)")
    from_event_id: int | None = Field(None, ge=0, description="replay from after this event id (default: new only)")

    @field_validator("url", "secret", "kinds", "vehicles")
    @classmethod
    def _storable(cls, value: object) -> object:
        """Text PostgreSQL can store: valid UTF-8 (no lone surrogates) and no NUL."""
        for text in value if isinstance(value, list) else [value]:
            if text is None:
                continue
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("must be valid UTF-8 text") from None
            if "\x00" in text:
                raise ValueError("must not contain NUL characters")
        return value


def _row(cur: psycopg.Cursor, row: tuple) -> dict[str, Any]:
    return {d.name: v for d, v in zip(cur.description, row, strict=True)}


@router.post("/api/webhooks", status_code=201, summary="Subscribe a webhook to the alarm events")
def subscribe(sub: Subscription = Body(...), conn: psycopg.Connection = Depends(db),
              principal: Any = Depends(require_role("planner"))) -> dict[str, Any]:
    secret = sub.secret or secrets.token_urlsafe(32)
    cur = conn.execute(
        "INSERT INTO webhook_subscriptions (url, secret, kinds, vehicles, last_event_id) VALUES "
        "(%s, %s, %s, %s, coalesce(%s, (SELECT coalesce(max(id), 0) FROM alarm_events))) "
        f"RETURNING {_COLS}", (sub.url, secret, sub.kinds, sub.vehicles, sub.from_event_id))
    return {**_row(cur, cur.fetchone()), "secret": secret}


@router.get("/api/webhooks", summary="Webhook subscriptions with their delivery metrics")
def subscriptions(conn: psycopg.Connection = Depends(db),
                  principal: Any = Depends(require_role("planner"))) -> dict[str, Any]:
    cur = conn.execute(f"SELECT {_COLS} FROM webhook_subscriptions ORDER BY id")
    return {"subscriptions": [_row(cur, r) for r in cur.fetchall()]}


@router.get("/api/webhooks/{sub_id}/dead-letters", summary="Events a subscription gave up on")
def dead_letters(sub_id: int, conn: psycopg.Connection = Depends(db),
                 principal: Any = Depends(require_role("planner"))) -> dict[str, Any]:
    cur = conn.execute("SELECT d.event_id, d.attempts, d.last_error, d.at, e.op, e.payload FROM webhook_dead_letters d "
                       "LEFT JOIN alarm_events e ON e.id = d.event_id WHERE d.subscription_id = %s "
                       "ORDER BY d.event_id", (sub_id,))
    return {"dead_letters": [_row(cur, r) for r in cur.fetchall()]}


@router.delete("/api/webhooks/{sub_id}", status_code=204, summary="Remove a webhook subscription")
def unsubscribe(sub_id: int, conn: psycopg.Connection = Depends(db),
                principal: Any = Depends(require_role("planner"))) -> Response:
    if conn.execute("DELETE FROM webhook_subscriptions WHERE id = %s", (sub_id,)).rowcount == 0:
        raise NotFound(f"no webhook subscription {sub_id}")
    return Response(status_code=204)
