"""Numeric columns as PostgreSQL binary arrays, encoded by numpy instead of element by element.

psycopg dumps a Python list of floats one element at a time (~0.3 µs each): for the six columns of a
stream entry's 1,250 fixes that was 1.7 µs a fix of the fence worker's CPU, more than the rest of
storing them. numpy writes the same bytes (array header, then length + big-endian value per element)
in one pass. The parameter goes with type oid 0: the query's cast (`%b::float8[]`) tells the server the
type, whose binary input then reads it.
"""

from __future__ import annotations

import struct

import numpy as np
import psycopg
from psycopg import pq
from psycopg.adapt import Dumper

#: element type oid, numpy big-endian dtype
_TYPES = {"int4": (23, ">i4"), "int8": (20, ">i8"), "float4": (700, ">f4"), "float8": (701, ">f8")}


class BinaryArray(bytes):
    """A one-dimensional array without NULLs in PostgreSQL's binary format (NaN stays NaN)."""


class _BinaryArrayDumper(Dumper):
    format = pq.Format.BINARY
    oid = 0   # unknown: typed by the cast in the query

    def dump(self, obj: BinaryArray) -> bytes:
        return obj


psycopg.adapters.register_dumper(BinaryArray, _BinaryArrayDumper)


def register(conn: psycopg.Connection) -> None:
    """Makes `conn` send BinaryArray parameters as they are. A connection's adapters are a copy-on-write view
    of psycopg's global ones: a connection whose map was copied before this module was imported (the demo
    loader's) would otherwise send them as `bytea`, which the query's `::int4[]` cast refuses."""
    conn.adapters.register_dumper(BinaryArray, _BinaryArrayDumper)


def encode(values: np.ndarray, pg_type: str) -> BinaryArray:
    """`values` (any numeric dtype, one dimension) as a binary `pg_type[]` parameter."""
    oid, dtype = _TYPES[pg_type]
    n = int(values.size)
    if n == 0:   # PostgreSQL writes an empty array with no dimension
        return BinaryArray(struct.pack(">iii", 0, 0, oid))
    item = np.empty(n, dtype=[("len", ">i4"), ("val", dtype)])
    item["len"] = np.dtype(dtype).itemsize
    item["val"] = values
    # ndim, has-nulls flag, element oid, then (size, lower bound) of the one dimension
    return BinaryArray(struct.pack(">iiiii", 1, 0, oid, n, 1) + item.tobytes())
