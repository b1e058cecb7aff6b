"""Answers from memory while the database is unreachable, and the note that they may be stale.

Why a context variable holding a mutable note: sync endpoints run on worker threads with a *copy*
of the request's context, so a value set there would never reach the HTTP middleware; a note object
created by the middleware and shared by reference does. Engines call `note_stale(as_of)` when they
answer from an index that they could not check against the database; the middleware turns the note
into the `X-Data-Stale` header.
"""

from __future__ import annotations

import contextvars
from datetime import UTC, datetime


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
