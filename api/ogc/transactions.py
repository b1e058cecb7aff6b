"""OGC API – Features Part 4 (20-002): create, replace, update (JSON merge patch) and delete one feature,
with optimistic locking by ETag / If-Match.

Which collections take writes, and the role each needs, is the catalog's (`Layer.write`); validation is
the importer's (gis.io.write), so a posted feature is refused for the same reasons, in the same words, as
a row of an imported file. Each write is one transaction on the OGC async pool: the stored row is read
`FOR UPDATE` (its ETag compared with If-Match), the import checks run over the one staged row, then the
INSERT/UPDATE/DELETE. The change counters' statement triggers bump the collection's version in the same
transaction, so cached counts, extents and tiles are stale from the next request on. The audit
middleware records every 2xx write; the endpoint names the feature in `request.state.audit`.
A create without a transaction of its own to check (no area limit) goes through the app's
`CreateBatcher`: concurrent creates of a layer are written by one statement, each answered as alone
(gis/io/write_batch.py).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import orjson
import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.requests import ClientDisconnect

from api.auth import check_role, principal_async, read_scope
from api.ogc import crs as ocrs
from api.ogc import openapi, query
from api.ogc.collections import Collection, get_collection
from api.ogc.features import base
from api.ogc.state import ogc
from gis import crs as gcrs
from gis.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    MethodNotAllowed,
    NotFound,
    PreconditionFailed,
    UnsupportedMediaType,
)
from gis.io import write
from gis.security import scope
from gis.security.scope import Area

router = APIRouter(prefix="/ogc", tags=["OGC API"])

JSON_TYPES = ("application/geo+json", "application/json")
PATCH_TYPES = ("application/merge-patch+json", *JSON_TYPES)


async def _authorise(request: Request, c: Collection) -> None:
    if c.write is None:
        raise MethodNotAllowed(f"collection {c.id} is read-only; writable: "
                               + ", ".join(layer.id for layer in _writable()))
    check_role(await principal_async(request, required=True), c.write)


def _writable() -> tuple[Collection, ...]:
    from gis import catalog

    return catalog.writable()


async def _body(request: Request, types: tuple[str, ...]) -> Any:
    ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if ctype not in types:
        raise UnsupportedMediaType(f"Content-Type {ctype or '(none)'!r} is not accepted here; send "
                                   + " or ".join(types))
    try:
        raw = await request.body()
    except ClientDisconnect:  # the client went away mid-body: nothing to answer, nothing written
        raise InvalidInput("the client disconnected before the body was complete") from None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not JSON: {exc}") from None


def _content_crs(request: Request) -> ocrs.OgcCrs:
    """The CRS of the body's coordinates (Part 2 `Content-Crs`, `<uri>` or bare), CRS84 by default."""
    value = (request.headers.get("content-crs") or "").strip().strip("<>").strip()
    return ocrs.lookup(value or None, "Content-Crs")


def _check_if_match(request: Request, etag: str) -> None:
    wanted = request.headers.get("if-match")
    if wanted is None:
        return
    tags = [t.strip() for t in wanted.split(",")]
    if "*" in tags or f'"{etag}"' in tags:
        return
    raise PreconditionFailed(f'the feature changed since it was read: its ETag is now "{etag}", '
                             f"If-Match sent {wanted}; read it again and reapply the change")


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _fid(c: Collection, feature_id: str) -> object:
    if not query.id_valid(c, feature_id):
        raise NotFound(f"collection {c.id} has no feature {feature_id!r}")
    return query.id_param(c, feature_id)


def _location(request: Request, c: Collection, fid: str) -> str:
    return f"{base(request)}/collections/{c.id}/items/{fid}"


def _audit(request: Request, c: Collection, action: str, fid: str, **detail: object) -> None:
    request.state.audit = {"action": f"ogc {action} {c.id}", "target": f"{c.table}/{fid}", "ids": [fid],
                           "detail": {"collection": c.id, **detail}}


def _connection(request: Request) -> AbstractAsyncContextManager[psycopg.AsyncConnection]:
    return ogc(request).connection()


async def _run(conn: psycopg.AsyncConnection, sql_params: tuple[str, list]) -> tuple | None:
    cur = await conn.execute(*sql_params)
    return await cur.fetchone()


async def _checked(conn: psycopg.AsyncConnection, p: write.Prepared, self_id: object | None) -> None:
    chk = write.check_sql(p, self_id)
    if chk is None:
        return
    row = await _run(conn, chk)
    _refuse(row[0] if row else None)


def _refuse(found: list | None) -> None:
    """400 `invalid_feature` listing the reasons of the failed checks, if any."""
    reasons = [_text(r) for r in found or ()]
    if reasons:
        raise InvalidInput("; ".join(reasons), code="invalid_feature", extra={"reasons": reasons})


def _database_refusal(exc: psycopg.errors.IntegrityError) -> Exception:
    """A constraint or trigger the checks did not foresee: a 4xx naming it (a unique key: 409)."""
    diag = exc.diag
    msg = (diag.message_primary or str(exc).splitlines()[0]) + (f" ({diag.message_detail})" if diag.message_detail
                                                                  else "")
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return Conflict(msg)
    return InvalidInput(msg, code="invalid_feature", extra={"reasons": [msg]})


async def _keep_inside(conn: psycopg.AsyncConnection, c: Collection, area: Area | None, fid: object,
                       feature_id: str, when: str) -> None:
    """403 naming the area unless the stored row `fid` lies inside the caller's area (the catalog's
    scope of the layer, the same condition the reads apply). Checked on the row before a change and
    after it (inside the transaction, so a refused write leaves nothing behind)."""
    if area is None:
        return
    cond, params = scope.condition(c, area)
    row = await _run(conn, (f"SELECT {cond} FROM {c.from_sql} WHERE {c.id_sql} = %s", [*params, fid]))
    if not (row and row[0]):
        raise Forbidden(f"{c.noun} {feature_id} {when} outside the area {area.label} this principal is "
                        f"limited to", code="outside_area", extra={"area": area.code})


async def _current(conn: psycopg.AsyncConnection, c: Collection, fid: object, feature_id: str) -> tuple:
    row = await _run(conn, (write.current_sql(c), [fid]))
    if row is None:
        raise NotFound(f"collection {c.id} has no feature {feature_id!r}")
    return row


@router.post("/collections/{collection_id}/items", status_code=201, summary="Create a feature (Part 4)",
             openapi_extra=openapi.CREATE, responses=openapi.write_responses(201))
async def create(request: Request, collection_id: str) -> Response:
    c = get_collection(collection_id)
    await _authorise(request, c)
    doc = await _body(request, JSON_TYPES)
    in_crs = _content_crs(request)
    p = write.prepare(c, doc, in_crs.ref, flip=in_crs.flip)
    area = read_scope(request, c)
    try:
        key = write.batch_key(p) if area is None else None
        done = None if key is None else await ogc(request).creates.create(p, key)
        if done is not None:  # written with the creates that queued meanwhile, in one statement
            reasons, *row = done
            _refuse(reasons)
        elif area is None:  # checks and INSERT in one autocommit statement: one round trip, no BEGIN/COMMIT
            async with _connection(request) as conn:
                reasons, *row = await _run(conn, write.create_sql(p))
            _refuse(reasons)
        else:  # the new row must lie inside the caller's area: checked after the INSERT, before COMMIT
            async with _connection(request) as conn, conn.transaction():
                await _checked(conn, p, None)
                row = await _run(conn, write.insert_sql(p))
                await _keep_inside(conn, c, area, query.id_param(c, _text(row[0])), "(new)", "would lie")
    except psycopg.errors.IntegrityError as exc:
        raise _database_refusal(exc) from None
    fid, etag = _text(row[0]), _text(row[1])
    _audit(request, c, "create", fid)
    return Response(status_code=201, headers={"Location": _location(request, c, fid), "ETag": f'"{etag}"'})


@router.put("/collections/{collection_id}/items/{feature_id}", status_code=204,
            summary="Replace a feature (Part 4)", openapi_extra=openapi.REPLACE,
            responses=openapi.write_responses(204, found=True))
async def replace(request: Request, collection_id: str, feature_id: str) -> Response:
    c = get_collection(collection_id)
    await _authorise(request, c)
    fid = _fid(c, feature_id)
    doc = await _body(request, JSON_TYPES)
    in_crs = _content_crs(request)
    return await _rewrite(request, c, fid, feature_id, lambda current: write.prepare(
        c, doc, in_crs.ref, flip=in_crs.flip, fid=feature_id, current=current), "replace")


@router.patch("/collections/{collection_id}/items/{feature_id}", status_code=204,
              summary="Update a feature by JSON merge patch (Part 4)", openapi_extra=openapi.UPDATE,
              responses=openapi.write_responses(204, found=True))
async def update(request: Request, collection_id: str, feature_id: str) -> Response:
    c = get_collection(collection_id)
    await _authorise(request, c)
    fid = _fid(c, feature_id)
    patch = await _body(request, PATCH_TYPES)
    if not isinstance(patch, dict):
        raise InvalidInput("a merge patch must be a JSON object (RFC 7396)")
    in_crs = _content_crs(request)

    def prepare(current: dict) -> write.Prepared:
        base_doc = {"type": "Feature", "properties": current["properties"], "geometry": current["geometry"]}
        merged = write.merge_patch(base_doc, {k: v for k, v in patch.items() if k in ("properties", "geometry")})
        merged["type"] = "Feature"
        if "geometry" in patch:  # new coordinates are in Content-Crs; kept ones are the stored numbers
            return write.prepare(c, merged, in_crs.ref, flip=in_crs.flip, fid=feature_id, current=current)
        return write.prepare(c, merged, gcrs.STORAGE, fid=feature_id, current=current)

    return await _rewrite(request, c, fid, feature_id, prepare, "update")


async def _rewrite(request: Request, c: Collection, fid: object, feature_id: str, prepare, action: str) -> Response:
    area = read_scope(request, c)
    try:
        async with _connection(request) as conn, conn.transaction():
            etag, props, geom_hex, geom_json = await _current(conn, c, fid, feature_id)
            await _keep_inside(conn, c, area, fid, feature_id, "lies")
            _check_if_match(request, _text(etag))
            current = {"properties": orjson.loads(props), "geometry": orjson.loads(geom_json) if geom_json else None,
                       "geom": _text(geom_hex)}
            current["unit_grid_code"] = current["properties"].get("unit_grid_code")
            p = prepare(current)
            await _checked(conn, p, fid)
            row = await _run(conn, write.update_sql(p, fid))
            await _keep_inside(conn, c, area, fid, feature_id, "would lie")
    except psycopg.errors.IntegrityError as exc:
        raise _database_refusal(exc) from None
    _audit(request, c, action, feature_id)
    return Response(status_code=204, headers={"ETag": f'"{_text(row[1])}"'})


@router.delete("/collections/{collection_id}/items/{feature_id}", status_code=204,
               summary="Delete a feature (Part 4)", openapi_extra=openapi.DELETE,
               responses=openapi.write_responses(204, found=True, body=False))
async def delete(request: Request, collection_id: str, feature_id: str) -> Response:
    c = get_collection(collection_id)
    await _authorise(request, c)
    fid = _fid(c, feature_id)
    area = read_scope(request, c)
    try:
        async with _connection(request) as conn, conn.transaction():
            etag, *_ = await _current(conn, c, fid, feature_id)
            await _keep_inside(conn, c, area, fid, feature_id, "lies")
            _check_if_match(request, _text(etag))
            await conn.execute(write.delete_sql(c), [fid])
    except psycopg.errors.IntegrityError as exc:
        raise _database_refusal(exc) from None
    _audit(request, c, "delete", feature_id)
    return Response(status_code=204)
