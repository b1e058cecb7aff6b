"""The JSON access log: the direct line (gis.logs.access) equals what the logging machinery would write."""

from __future__ import annotations

import io
import json
import logging

import pytest

from gis import logs


@pytest.fixture
def configured():
    """Installs the set-up `gis.logs.configure` makes, writing into a string, and returns the string.
    Called in the test body: pytest adds its own capture handlers to the root around the call."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    stream = io.StringIO()

    def install() -> io.StringIO:
        handler = logs.JsonHandler(stream)
        handler.setFormatter(logs.JsonFormatter())
        root.handlers[:] = [handler]
        root.setLevel(logging.INFO)
        return stream

    yield install
    root.handlers[:], root.level = saved, level


FIELDS = {"method": "GET", "path": "/ogc/collections/部件/items/7", "status": 200, "duration_ms": 1.25,
          "client": "127.0.0.1"}


def test_the_direct_access_line_equals_the_formatted_record(configured, monkeypatch):
    log = logging.getLogger("citygrid.http.test")
    stream = configured()
    token = logs.request_id.set("rid-1")
    try:
        with monkeypatch.context() as m:   # the direct line does not go through the logger
            m.setattr(log, "info", lambda *a, **k: pytest.fail("logger.info called"))
            logs.access(log, **FIELDS)
        log.info("request", extra=FIELDS)   # the same line through the logging machinery
    finally:
        logs.request_id.reset(token)
    direct, formatted = (json.loads(line) for line in stream.getvalue().splitlines())
    assert list(direct) == list(formatted)   # same keys in the same order
    assert direct.pop("ts")[:19] == formatted.pop("ts")[:19]
    assert direct == formatted == {"level": "info", "logger": "citygrid.http.test", "msg": "request",
                                   "request_id": "rid-1", **FIELDS}


def test_another_set_up_gets_an_ordinary_record(configured, caplog):
    """With another handler on the root (here pytest's capture), the line is a LogRecord it can see."""
    configured()
    logging.getLogger().addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    logs.access(logging.getLogger("citygrid.http.test"), **FIELDS)
    [record] = [r for r in caplog.records if r.name == "citygrid.http.test"]
    assert (record.getMessage(), record.path, record.status) == ("request", FIELDS["path"], 200)


def test_a_level_above_info_writes_nothing(configured):
    stream = configured()
    logging.getLogger().setLevel(logging.WARNING)
    logs.access(logging.getLogger("citygrid.http.test"), **FIELDS)
    assert stream.getvalue() == ""
