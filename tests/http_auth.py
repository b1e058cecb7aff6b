"""Request headers for the API-key tests (a helper module: test modules import it, never conftest.py)."""

from __future__ import annotations


def auth(key: str) -> dict[str, str]:
    """Headers carrying an API key."""
    return {"X-API-Key": key}
