"""Schemathesis against the OpenAPI document: no input, however odd, gets a 5xx.

Runs on a database and server of its own (the fuzzer writes with an admin key), bounded in time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gis.security.keys import create_key
from tests.databases import own_database
from tests.servers import uvicorn_subprocess

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = int(os.environ.get("CITYGRID_FUZZ_SECONDS", "90"))


@pytest.fixture(scope="module")
def fuzz_target(database_url: str) -> Iterator[tuple[str, str]]:
    with own_database(database_url, "citygrid_fuzz", seeded=True) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            _, key = create_key(conn, "fuzzer", "admin")
        # The fuzzer's made-up logins must not lock its own client address out of everything else.
        with uvicorn_subprocess(url, {"CITYGRID_RATE_LIMIT_PER_KEY": "100000",
                                      "CITYGRID_AUTH_MAX_FAILURES": "1000000000"}) as base:
            yield base, key


#: An internal crash of the fuzzing tool itself (CPython 3.11.7's ast.parse, called by hypothesis while it
#: describes a strategy): no request was judged, so the run is repeated rather than read as a finding.
TOOL_CRASH = "AST constructor recursion depth mismatch"


def test_no_server_errors(fuzz_target: tuple[str, str]) -> None:
    base, key = fuzz_target
    for _attempt in range(3):
        proc = subprocess.run(
            [str(Path(sys.executable).with_name("st")), "run", f"{base}/openapi.json",
             "--checks", "not_a_server_error", "--max-examples", "15", "--max-time", str(BUDGET_S),
             "--header", f"X-API-Key:{key}", "--request-timeout", "30", "--workers", "1",
             "--generation-deterministic", "--exclude-path-regex", "/api/alarms/stream"],
            capture_output=True, text=True, timeout=BUDGET_S + 240,
        )
        if TOOL_CRASH not in proc.stdout + proc.stderr:
            break
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
