"""Answers from memory while the database is unreachable, and the note that they may be stale.

Why a context variable holding a mutable note: sync endpoints run on worker threads with a *copy*
of the request's context, so a value set there would never reach the HTTP middleware; a note object
created by the middleware and shared by reference does. Engines call `note_stale(as_of)` when they
answer from an index that they could not check against the database; the middleware turns the note
into the `X-Data-Stale` header.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Generic, TypeVar

import psycopg

from gis.errors import DatabaseUnavailable

T = TypeVar("T")


class StaleNote:
    """Set when any part of one answer came from memory without a database check."""

    __slots__ = ("as_of",)

    def __init__(self) -> None:
        self.as_of: float | None = None

    def header(self) -> str | None:
        if self.as_of is None:
            return None
        return "as-of=" + datetime.fromtimestamp(self.as_of, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


_note: contextvars.ContextVar[StaleNote | None] = contextvars.ContextVar("citygrid_stale_note", default=None)


def begin() -> tuple[StaleNote, contextvars.Token]:
    """A fresh note for one request (the caller resets the token when the request ends)."""
    note = StaleNote()
    return note, _note.set(note)


def end(token: contextvars.Token) -> None:
    _note.reset(token)


def note_stale(as_of: float) -> None:
    """Marks the current answer as served from data last confirmed at `as_of` (epoch seconds)."""
    note = _note.get()
    if note is not None and (note.as_of is None or as_of < note.as_of):
        note.as_of = as_of


class LastConfirmed(Generic[T]):
    """The last value checked against the database, answered (and noted stale) while it is unreachable.

    The grid index and the address index share this rule: with no connection, or when the check itself
    fails for want of a database, the last confirmed value answers; before any value was confirmed the
    caller gets DatabaseUnavailable.
    """

    def __init__(self, what: str) -> None:
        self._what = what
        self._last: tuple[T, float] | None = None  # (value, wall time it was last confirmed)

    def get(self, conn: psycopg.Connection | None, current: Callable[[psycopg.Connection], T]) -> T:
        """`current(conn)`, remembered as confirmed; the last confirmed value when the database is away."""
        if conn is None:
            return self.last()
        try:
            value = current(conn)
        except psycopg.OperationalError:
            if self._last is None:
                raise
            from gis.db.breaker import get_breaker

            get_breaker().record_failure()
            return self.last()
        self._last = (value, time.time())
        return value

    def last(self) -> T:
        """The last confirmed value, noted as maybe stale; DatabaseUnavailable when there is none."""
        last = self._last
        if last is None:
            raise DatabaseUnavailable(f"the database is not reachable and no {self._what} was loaded yet; "
                                      "retry shortly")
        note_stale(last[1])
        return last[0]

    def forget(self) -> None:
        self._last = None
