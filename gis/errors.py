"""The error hierarchy of every engine. Engines raise these; `api/errors.py` maps them to HTTP once.

Each error carries a short machine code and a human sentence that names the problem.
"""

from __future__ import annotations

from typing import Any


class CityGridError(Exception):
    code = "error"

    def __init__(self, detail: str, *, code: str | None = None, extra: dict[str, Any] | None = None):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra or {}


class InvalidInput(CityGridError):
    """The caller sent something malformed (bad code, bad geometry, bad parameter)."""

    code = "invalid_input"


class InvalidCode(InvalidInput):
    code = "invalid_code"


class InvalidGeometry(InvalidInput):
    code = "invalid_geometry"


class UnknownCRS(InvalidInput):
    code = "unknown_crs"


class Unsupported(InvalidInput):
    """Well-formed input asking for something the engine does not support (an unknown property or kind):
    answered 422 naming it, never silently ignored."""

    code = "unsupported"


class NotFound(CityGridError):
    code = "not_found"


class Conflict(CityGridError):
    code = "conflict"


class TooLarge(InvalidInput):
    code = "too_large"


class MethodNotAllowed(CityGridError):
    """The resource exists but does not take this method (a write to a read-only collection)."""

    code = "method_not_allowed"


class PreconditionFailed(CityGridError):
    """A conditional write (`If-Match`) whose ETag is no longer the stored one: someone changed it first."""

    code = "precondition_failed"


class UnsupportedMediaType(InvalidInput):
    code = "unsupported_media_type"


class Unauthorized(CityGridError):
    code = "unauthorized"


class Forbidden(CityGridError):
    code = "forbidden"


class ImportRejected(InvalidInput):
    """A file import failed validation; `rows` lists every rejected row with its reason. Without rows the
    whole file was refused (`code` then names why: missing_columns, no_features, no_geometry)."""

    code = "import_rejected"

    def __init__(self, detail: str, rows: list[dict[str, Any]], *, code: str | None = None,
                 extra: dict[str, Any] | None = None):
        super().__init__(detail, code=code, extra={**(extra or {}), "rejected": rows})
        self.rows = rows


class RateLimited(CityGridError):
    code = "rate_limited"


class DatabaseUnavailable(CityGridError):
    code = "database_unavailable"


class InvalidSetting(CityGridError):
    """An environment variable (or .env line) that configures CityGrid has a value it cannot use."""

    code = "invalid_setting"
