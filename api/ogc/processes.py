"""OGC API – Processes Part 1 (18-062r2): the engines other systems call in batch — geocode, reverse
geocode, locate, evaluation-grid sampling — at /ogc/processes, executed synchronously for small inputs
and as asynchronous jobs (/ogc/jobs: status with progress, results, dismissal) for large ones.

Why jobs live in the database (`ogc_jobs`, migration 0012) and not in memory: status and results must
outlive the process that ran them, and any worker of the server must be able to answer for any job. A
job's runner (a thread of this process) writes its progress and a heartbeat (`updated`) after every
chunk of work; a job still `accepted`/`running` whose heartbeat is older than `STALE_S` belonged to a
process that died (a restart, a crash) and is reported — and stored — as failed with that reason,
never left running for ever. A dismissed job's runner sees the status at its next chunk and stops.

Execution mode: `Prefer: respond-async` asks for a job; without it an execution with more than
`SYNC_MAX` items is made a job anyway (201 + Location) rather than holding a connection for minutes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import Response
from psycopg.types.json import Jsonb
from starlette.concurrency import run_in_threadpool

from api.auth import area_of, principal_from, require_role
from api.ogc import openapi
from api.ogc.features import base, link
from api.services import Services
from geocoder import answer, reverse
from gis.errors import CityGridError, Conflict, InvalidInput, NotFound, TooLarge
from gis.grids import locate as locate_engine
from gis.grids import sampling

router = APIRouter(prefix="/ogc", tags=["OGC API – Processes"])

JSON = "application/json"
SYNC_MAX = 1_000          # items executed synchronously; more become a job
MAX_ITEMS = 100_000       # items of one job
CHUNK = 500               # items between two progress/heartbeat writes
STALE_S = 60              # a running job without a heartbeat for this long belonged to a dead process

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/job-list",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/dismiss",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/oas30",
]

Progress = Callable[[int], bool]   # items done -> keep going?


@dataclass(frozen=True)
class Process:
    id: str
    title: str
    description: str
    inputs: dict[str, dict]         # id -> {title, schema, minOccurs?}
    output: str                     # the one output's id
    output_schema: dict
    items: str | None               # the input holding the list of items (None: a single run)
    run: Callable[[psycopg.Connection, Services, dict, Progress], Any]
    role: str | None = None         # role needed to execute (None: anyone who may read)

    def count(self, inputs: dict) -> int:
        if self.items is None:
            return 1
        values = inputs.get(self.items)
        if not isinstance(values, list) or not values:
            raise InvalidInput(f"inputs.{self.items}: a non-empty JSON array is needed")
        if len(values) > MAX_ITEMS:
            raise TooLarge(f"inputs.{self.items}: {len(values)} items; at most {MAX_ITEMS} per job")
        return len(values)


def _chunks(values: list, progress: Progress, work: Callable[[list], list]) -> list | None:
    out: list = []
    for start in range(0, len(values), CHUNK):
        out += work(values[start:start + CHUNK])
        if not progress(len(out)):
            return None
    return out


def _points(inputs: dict) -> list:
    pts = inputs.get("points")
    for i, p in enumerate(pts):
        if not (isinstance(p, list | tuple) and len(p) >= 2 and all(isinstance(v, int | float) for v in p[:2])):
            raise InvalidInput(f"inputs.points[{i}]: not [x, y]: {str(p)[:60]}")
    return pts


def _geocode(conn: psycopg.Connection, svc: Services, inputs: dict, progress: Progress) -> list | None:
    limit = inputs.get("limit", 1)
    if not isinstance(limit, int) or not 1 <= limit <= 20:
        raise InvalidInput("inputs.limit: an integer from 1 to 20")
    addresses = inputs["addresses"]
    if not all(isinstance(a, str) for a in addresses):
        raise InvalidInput("inputs.addresses: every item must be a string")
    index = svc.addresses.get(conn)
    return _chunks(addresses, progress, lambda part: [
        {"query": q, **answer.features(conn, q, limit, inputs.get("crs"), index=index, grids=svc.grids,
                                       area=inputs.get("_area"))} for q in part])


def _reverse(conn: psycopg.Connection, svc: Services, inputs: dict, progress: Progress) -> list | None:
    pts = _points(inputs)
    index = svc.addresses.get(conn)

    def one(p: list) -> dict | None:
        try:
            return reverse.reverse(conn, p[0], p[1], inputs.get("crs"), index=index, grids=svc.grids,
                                   area=inputs.get("_area"))
        except NotFound:
            return None

    return _chunks(pts, progress, lambda part: [one(p) for p in part])


def _locate(conn: psycopg.Connection, svc: Services, inputs: dict, progress: Progress) -> list | None:
    pts = _points(inputs)

    def work(part: list) -> list:
        located = locate_engine.locate_in_area(conn, [p[0] for p in part], [p[1] for p in part], inputs.get("crs"),
                                               svc.grids, inputs.get("_area"))
        return located.records()

    return _chunks(pts, progress, work)


def _sample(conn: psycopg.Connection, svc: Services, inputs: dict, progress: Progress) -> dict:
    city_class, seed = inputs.get("city_class"), inputs.get("seed")
    if not isinstance(city_class, int) or not isinstance(seed, int):
        raise InvalidInput("inputs.city_class and inputs.seed: integers")
    out = sampling.draw_sample(conn, city_class, seed, inputs.get("_actor"))
    progress(1)
    return out


_POINTS = {"title": "点 [x, y]（crs 坐标系，缺省 CRS84）", "schema": {
    "type": "array", "items": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}}}
_CRS = {"title": "坐标参照系（如 EPSG:4549、GCJ02）", "schema": {"type": "string"}, "minOccurs": 0}

PROCESSES: dict[str, Process] = {p.id: p for p in (
    Process("geocode", "地址编码（批量）", "每个地址的候选点，按可信度排序（与 GET /api/geocode 相同）。",
            {"addresses": {"title": "地址", "schema": {"type": "array", "items": {"type": "string"}}},
             "limit": {"title": "每个地址的候选数（1–20，缺省 1）", "schema": {"type": "integer", "minimum": 1,
                                                                           "maximum": 20}, "minOccurs": 0},
             "crs": _CRS},
            "results", {"type": "array", "items": {"type": "object"}}, "addresses", _geocode),
    Process("reverse-geocode", "逆地址编码（批量）",
            "每个点的标准地址、方位与距离（与 GET /api/reverse 相同；无结果为 null）。",
            {"points": _POINTS, "crs": _CRS}, "results", {"type": "array", "items": {"type": "object",
                                                                                    "nullable": True}},
            "points", _reverse),
    Process("locate", "网格定位（批量）", "每个点所在的区、街道、社区、单元网格、评价网格与工作网格。",
            {"points": _POINTS, "crs": _CRS}, "results", {"type": "array", "items": {"type": "object"}},
            "points", _locate),
    Process("eval-grid-sample", "评价网格抽样", "按城市类别抽取评价网格（8/6/5 个）及其 A/B/C 类型；抽样记录备查。",
            {"city_class": {"title": "城市类别 1/2/3", "schema": {"type": "integer", "enum": [1, 2, 3]}},
             "seed": {"title": "随机种子（同一数据同一种子抽出相同网格）", "schema": {"type": "integer"}}},
            "sample", {"type": "object"}, None, _sample, role="inspector"),
)}


def _process(process_id: str) -> Process:
    p = PROCESSES.get(process_id)
    if p is None:
        raise NotFound(f"no process {process_id!r}; see /ogc/processes", code="no-such-process")
    return p


def _summary(request: Request, p: Process) -> dict:
    b = f"{base(request)}/processes/{p.id}"
    return {"id": p.id, "title": p.title, "description": p.description, "version": "1.0.0",
            "jobControlOptions": ["sync-execute", "async-execute", "dismiss"] if p.items else ["sync-execute"],
            "outputTransmission": ["value"],
            "links": [link(b, "self", JSON, p.title),
                      link(f"{b}/execution", "http://www.opengis.net/def/rel/ogc/1.0/execute", JSON, "执行")]}


def _json(doc: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type=JSON, headers=headers)


@router.get("/processes", summary="The processes offered", openapi_extra=openapi.F_ONLY)
async def processes(request: Request) -> Response:
    return _json({"processes": [_summary(request, p) for p in PROCESSES.values()],
                  "links": [link(f"{base(request)}/processes", "self", JSON)]})


@router.get("/processes/{process_id}", summary="One process: its inputs and outputs", openapi_extra=openapi.F_ONLY)
async def process(request: Request, process_id: str) -> Response:
    p = _process(process_id)
    doc = _summary(request, p)
    doc["inputs"] = {k: {"minOccurs": 1, "maxOccurs": 1, **v} for k, v in p.inputs.items()}
    doc["outputs"] = {p.output: {"title": p.output, "schema": p.output_schema}}
    return _json(doc)


# -- jobs in the database -----------------------------------------------------------------------------

_STATUS_COLS = ("job_id, process_id, status, message, progress, "
                "to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                "to_char(started AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                "to_char(finished AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
                "to_char(updated AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
_REAP = (f"UPDATE ogc_jobs SET status = 'failed', finished = now(), updated = now(), "
         f"message = 'the server running this job stopped (no progress for over {STALE_S} s); run it again' "
         f"WHERE status IN ('accepted', 'running') AND updated < now() - interval '{STALE_S} seconds'")


def _text(v: Any) -> Any:
    return v.decode() if isinstance(v, bytes) else v


def _status_doc(request: Request, row: tuple) -> dict:
    job_id, process_id, status, message, progress, created, started, finished, updated = (_text(v) for v in row)
    b = f"{base(request)}/jobs/{job_id}"
    links = [link(b, "self", JSON, "状态")]
    if status == "successful":
        links.append(link(f"{b}/results", "http://www.opengis.net/def/rel/ogc/1.0/results", JSON, "结果"))
    doc = {"jobID": job_id, "processID": process_id, "type": "process", "status": status, "message": message,
           "progress": progress, "created": created, "started": started, "finished": finished, "updated": updated,
           "links": links}
    return {k: v for k, v in doc.items() if v is not None}


async def _job_row(request: Request, job_id: str) -> tuple:
    st = request.app.state.services.ogc
    await st.fetchone(_REAP + " AND job_id = %s RETURNING 1", [job_id])
    row = await st.fetchone(f"SELECT {_STATUS_COLS} FROM ogc_jobs WHERE job_id = %s", [job_id])
    if row is None:
        raise NotFound(f"no job {job_id!r}", code="no-such-job")
    return row


def _run_job(svc: Services, p: Process, job_id: str, inputs: dict) -> None:
    """The runner (a worker thread): progress and heartbeat per chunk; stops when the job is dismissed."""
    total = p.count(inputs)

    def progress(done: int) -> bool:
        with svc.connection() as conn:
            row = conn.execute("UPDATE ogc_jobs SET progress = %s, updated = now(), message = %s "
                               "WHERE job_id = %s AND status = 'running' RETURNING 1",
                               (min(99, done * 100 // total), f"{done} of {total} done", job_id)).fetchone()
        return row is not None

    with svc.connection() as conn:
        conn.execute("UPDATE ogc_jobs SET status = 'running', started = now(), updated = now() "
                     "WHERE job_id = %s AND status = 'accepted'", (job_id,))
    try:
        with svc.connection() as conn:
            results = p.run(conn, svc, inputs, progress)
    except Exception as exc:  # the job's failure is its answer, not the server's
        detail = exc.detail if isinstance(exc, CityGridError) else f"{type(exc).__name__}: {exc}"
        with svc.connection() as conn:
            conn.execute("UPDATE ogc_jobs SET status = 'failed', message = %s, finished = now(), updated = now() "
                         "WHERE job_id = %s AND status = 'running'", (detail[:2000], job_id))
        return
    if results is None:   # dismissed meanwhile
        return
    with svc.connection() as conn:
        conn.execute("UPDATE ogc_jobs SET status = 'successful', progress = 100, results = %s, finished = now(), "
                     "updated = now(), message = 'done' WHERE job_id = %s AND status = 'running'",
                     (Jsonb({p.output: results}), job_id))


@router.post("/processes/{process_id}/execution", summary="Execute a process (sync, or a job)",
             openapi_extra=openapi.EXECUTE, responses=openapi.EXECUTE_RESPONSES)
async def execute(request: Request, process_id: str) -> Response:
    p = _process(process_id)
    svc: Services = request.app.state.services
    principal = await run_in_threadpool(require_role(p.role) if p.role else
                                        (lambda r: principal_from(r, required=False)), request)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict) or not isinstance(body.get("inputs", {}), dict):
        raise InvalidInput('the body must be {"inputs": {…}}')
    inputs = dict(body.get("inputs") or {})
    missing = [k for k, v in p.inputs.items() if v.get("minOccurs", 1) > 0 and k not in inputs]
    if missing:
        raise InvalidInput(f"inputs: missing {', '.join(missing)} (process {p.id} takes {', '.join(p.inputs)})")
    unknown = [k for k in inputs if k not in p.inputs]
    if unknown:
        raise InvalidInput(f"inputs: unknown {', '.join(unknown)} (process {p.id} takes {', '.join(p.inputs)})")
    inputs["_actor"] = principal.name if principal is not None else None
    # geocode, reverse and locate answer a caller limited to an area as their GET paths do (not stored
    # with the job: keys starting with "_" are not; the job runs with the area of who started it)
    inputs["_area"] = await run_in_threadpool(area_of, request)
    n = p.count(inputs)
    wants_async = "respond-async" in (request.headers.get("prefer") or "").lower()
    if p.items is None or (not wants_async and n <= SYNC_MAX):
        def work() -> Any:
            with svc.connection() as conn:
                return p.run(conn, svc, inputs, lambda done: True)
        return _json({p.output: await run_in_threadpool(work)})
    job_id = uuid.uuid4().hex
    stored = {k: v for k, v in inputs.items() if not k.startswith("_")}
    await svc.ogc.fetchone("INSERT INTO ogc_jobs (job_id, process_id, inputs, owner, message) "
                           "VALUES (%s, %s, %s, %s, 'queued') RETURNING 1",
                           [job_id, p.id, Jsonb(stored), inputs["_actor"]])
    task = asyncio.create_task(asyncio.to_thread(_run_job, svc, p, job_id, inputs))
    svc.ogc.tasks.add(task)
    task.add_done_callback(svc.ogc.tasks.discard)
    request.state.audit = {"action": f"ogc job {p.id}", "target": f"ogc_jobs/{job_id}", "ids": [job_id]}
    row = await _job_row(request, job_id)
    headers = {"Location": f"{base(request)}/jobs/{job_id}"}
    if wants_async:
        headers["Preference-Applied"] = "respond-async"
    return _json(_status_doc(request, row), 201, headers)


@router.get("/jobs", summary="The jobs, newest first", openapi_extra=openapi.F_ONLY)
async def jobs(request: Request) -> Response:
    st = request.app.state.services.ogc
    await st.fetchone(_REAP + " RETURNING 1")
    rows = await st.fetchall(f"SELECT {_STATUS_COLS} FROM ogc_jobs ORDER BY created DESC LIMIT 1000")
    return _json({"jobs": [_status_doc(request, r) for r in rows],
                  "links": [link(f"{base(request)}/jobs", "self", JSON)]})


@router.get("/jobs/{job_id}", summary="A job's status and progress", openapi_extra=openapi.F_ONLY)
async def job(request: Request, job_id: str) -> Response:
    return _json(_status_doc(request, await _job_row(request, job_id)))


@router.get("/jobs/{job_id}/results", summary="A successful job's results", openapi_extra=openapi.F_ONLY)
async def results(request: Request, job_id: str) -> Response:
    row = await _job_row(request, job_id)
    status, message = _text(row[2]), _text(row[3])
    if status == "failed":
        raise Conflict(f"job {job_id} failed: {message}", code="job-failed")
    if status != "successful":
        raise NotFound(f"job {job_id} is {status}; its results are not ready", code="result-not-ready")
    out = await request.app.state.services.ogc.fetchone("SELECT results::text FROM ogc_jobs WHERE job_id = %s",
                                                        [job_id])
    return Response(out[0], media_type=JSON)


@router.delete("/jobs/{job_id}", summary="Dismiss a job (stops it; its results are removed)",
               openapi_extra=openapi.F_ONLY)
async def dismiss(request: Request, job_id: str) -> Response:
    await _job_row(request, job_id)
    st = request.app.state.services.ogc
    await st.fetchone("UPDATE ogc_jobs SET status = 'dismissed', results = NULL, message = 'dismissed', "
                      "finished = coalesce(finished, now()), updated = now() WHERE job_id = %s RETURNING 1", [job_id])
    return _json(_status_doc(request, await _job_row(request, job_id)))
