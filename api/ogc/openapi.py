"""The OpenAPI 3.0 document of the OGC API (conformance class "OpenAPI 3.0").

FastAPI writes OpenAPI 3.1; the OGC classes want 3.0. The document is FastAPI's own, restricted to
the `/ogc` routes, with the few 3.1-only idioms rewritten (`anyOf [X, {type: null}]` -> `nullable`,
`examples` -> `example`, `const` -> `enum`, numeric `exclusiveMinimum/Maximum` -> boolean form). The
OGC query parameters are declared here once and attached to the routes with `openapi_extra`: the
handlers read them from the raw query string (OGC names such as `bbox-crs`, and queryables as
parameters, do not fit FastAPI's typed signatures).
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"


def _q(name: str, description: str, schema: dict, **extra: Any) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


F = _q("f", "编码：json 或 html（缺省按 Accept 协商）", {"type": "string", "enum": ["json", "html"]})
CRS = _q("crs", "输出坐标参照系（OGC API – Features Part 2），如 http://www.opengis.net/def/crs/EPSG/0/4549",
         {"type": "string", "format": "uri"})
PROPERTIES = _q("properties", "只返回这些属性（逗号分隔）", {"type": "array", "items": {"type": "string"}},
                style="form", explode=False)
ITEMS_PARAMS = [
    F,
    _q("limit", "每页要素数（1–10000，缺省 10）", {"type": "integer", "minimum": 1, "maximum": 10000, "default": 10}),
    _q("offset", "跳过的要素数（分页）", {"type": "integer", "minimum": 0, "default": 0}),
    _q("after", "键集分页：从此标识之后开始（由 next 链接给出）", {"type": "string"}),
    _q("before", "键集分页：到此标识之前为止（由 prev 链接给出）", {"type": "string"}),
    _q("bbox", "范围：minx,miny,maxx,maxy（按 bbox-crs 的轴序，缺省 CRS84）",
       {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}, style="form", explode=False),
    _q("bbox-crs", "bbox 的坐标参照系", {"type": "string", "format": "uri"}),
    _q("datetime", "时间：RFC 3339 时刻或区间（a/b，开放端用 ..）", {"type": "string"}),
    CRS,
    _q("filter", "CQL2 过滤表达式（OGC API – Features Part 3）", {"type": "string"}),
    _q("filter-lang", "过滤语言", {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"}),
    _q("filter-crs", "过滤表达式中几何的坐标参照系", {"type": "string", "format": "uri"}),
    _q("sortby", "排序：属性名，前缀 - 为降序（逗号分隔）", {"type": "array", "items": {"type": "string"}},
       style="form", explode=False),
    PROPERTIES,
]

F_ONLY = {"parameters": [F]}

# -- Moving Features Part 1 ---------------------------------------------------------------------------

_DATETIME = _q("datetime", "时间：RFC 3339 时刻或区间（a/b，开放端用 ..）", {"type": "string"})
_MF_LIMIT = _q("limit", "每页时刻数", {"type": "integer", "minimum": 1, "maximum": 100000, "default": 10000})
_AFTER = _q("after", "分页：从此时刻之后开始（由 next 链接给出）", {"type": "string", "format": "date-time"})
_SUB = _q("subTrajectory", "截取 datetime 区间内的轨迹，两端为插值位置", {"type": "boolean", "default": False})
MF_ITEMS = {"parameters": [
    F, _q("limit", "每页要素数", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10}),
    _q("offset", "跳过的要素数", {"type": "integer", "minimum": 0, "default": 0}),
    _q("bbox", "范围（CRS84）", {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
       style="form", explode=False), _DATETIME, _SUB]}
TGSEQUENCE = {"parameters": [
    F, _MF_LIMIT, _DATETIME, _SUB, _AFTER,
    _q("leaf", "只返回这些时刻的（线性插值）位置，逗号分隔", {"type": "array", "items": {"type": "string",
       "format": "date-time"}}, style="form", explode=False)]}
TPROPERTY = {"parameters": [F, _MF_LIMIT, _DATETIME, _AFTER]}

# -- Part 4 (create, replace, update, delete) ---------------------------------------------------------

_FEATURE_BODY = {
    "type": "object", "required": ["type"],
    "properties": {"type": {"type": "string", "enum": ["Feature"]}, "id": {"nullable": True},
                   "geometry": {"type": "object", "nullable": True},
                   "properties": {"type": "object", "nullable": True}},
}
CONTENT_CRS = {"name": "Content-Crs", "in": "header", "required": False, "schema": {"type": "string"},
               "description": "坐标参照系（<URI>），缺省 CRS84；可用值见集合的 crs 列表"}
IF_MATCH = {"name": "If-Match", "in": "header", "required": False, "schema": {"type": "string"},
            "description": "乐观锁：读取时的 ETag；要素已被他人修改时答 412"}


def _body(media_types: tuple[str, ...]) -> dict:
    return {"required": True, "content": {m: {"schema": _FEATURE_BODY} for m in media_types}}


CREATE = {"parameters": [CONTENT_CRS], "requestBody": _body(("application/geo+json", "application/json"))}
REPLACE = {"parameters": [CONTENT_CRS, IF_MATCH], "requestBody": _body(("application/geo+json", "application/json"))}
UPDATE = {"parameters": [CONTENT_CRS, IF_MATCH],
          "requestBody": _body(("application/merge-patch+json", "application/geo+json", "application/json"))}
DELETE = {"parameters": [IF_MATCH]}

_ETAG = {"ETag": {"description": "存储要素的新版本标记", "schema": {"type": "string"}}}


def write_responses(status: int, *, found: bool = False, body: bool = True) -> dict:
    """The success answer of a Part 4 operation (its errors are added to every operation by `document`)."""
    if status == 201:
        return {201: {"description": "已创建；Location 为新要素地址",
                      "headers": {"Location": {"description": "新要素的 URI", "schema": {"type": "string"}}, **_ETAG}}}
    return {status: {"description": "已完成", "headers": {} if not body else _ETAG}}


# -- Processes ---------------------------------------------------------------------------------------

EXECUTE = {"parameters": [{"name": "Prefer", "in": "header", "required": False, "schema": {"type": "string"},
                           "description": "respond-async：作为异步作业执行（201 + Location）"}],
           "requestBody": {"required": True, "content": {"application/json": {"schema": {
               "type": "object", "properties": {"inputs": {"type": "object"}}}}}}}
EXECUTE_RESPONSES = {200: {"description": "同步执行的结果"},
                     201: {"description": "已创建异步作业；Location 为作业状态地址"}}


# -- errors: every operation declares every status it can answer, with the one error schema ------------

ERROR_SCHEMA = {
    "type": "object", "required": ["error", "detail"],
    "properties": {"error": {"type": "string", "description": "机器可读的错误代码"},
                   "detail": {"type": "string", "description": "说明问题所在（参数、属性或字段名）"}},
    "additionalProperties": True,
}
_ERRORS = {
    "400": "参数或请求体无效（说明中给出参数或字段名）",
    "401": "需要 API 密钥（X-API-Key），或密钥无效",
    "403": "密钥的角色不允许此操作",
    "404": "集合、要素或资源不存在",
    "405": "此集合只读",
    "409": "与已有要素冲突（如编码重复）",
    "412": "If-Match 的 ETag 已过期：要素已被修改",
    "413": "请求体超过大小上限",
    "415": "不接受此 Content-Type",
    "429": "请求过于频繁",
    "503": "数据库暂不可用，稍后重试（见 Retry-After）",
}


def _error_codes(method: str, path: str, op: dict) -> list[str]:
    codes = ["400", "429", "503"]
    if "{" in path:
        codes.append("404")
    if method == "get":
        codes.append("401")  # when reads need a key (settings.read_requires_key)
        return codes
    codes += ["401", "403", "404", "405", "413"]
    if method in ("post", "put", "patch"):
        codes += ["409", "415"]
    if method in ("put", "patch", "delete"):
        codes.append("412")
    return codes


def _declare_errors(doc: dict) -> None:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            responses.pop("422", None)
            for code in sorted(set(_error_codes(method, path, op))):
                responses.setdefault(code, {"description": _ERRORS[code], "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
    if not schemas:
        doc["components"].pop("schemas")
ITEMS = {"parameters": ITEMS_PARAMS, "description": "可查询属性也可作为查询参数（等值过滤），见 queryables。"}
ITEM = {"parameters": [F, CRS, PROPERTIES]}
CLUSTER = _q("cluster", "低于此缩放级别时返回聚合点（point_count 与按类计数 c:<类>），仅密集点图层（如 components）",
             {"type": "integer", "minimum": 1, "maximum": 30})
TILE = {"parameters": [F, CLUSTER]}


def _to_30(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _to_30(v) for k, v in node.items()}
        for key in ("anyOf", "oneOf"):
            options = node.get(key)
            if isinstance(options, list) and any(o == {"type": "null"} for o in options):
                rest = [o for o in options if o != {"type": "null"}]
                node.pop(key)
                if len(rest) == 1:
                    node.update(rest[0])
                else:
                    node[key] = rest
                node["nullable"] = True
        if isinstance(node.get("type"), list):
            types = [t for t in node["type"] if t != "null"]
            if len(types) != len(node["type"]):
                node["nullable"] = True
            node["type"] = types[0] if len(types) == 1 else types
        if "examples" in node and isinstance(node["examples"], list) and "in" not in node:
            examples = node.pop("examples")
            if examples:
                node["example"] = examples[0]
        if "const" in node:
            node["enum"] = [node.pop("const")]
        for bound, flag in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            if isinstance(node.get(bound), (int, float)) and not isinstance(node.get(bound), bool):
                node[flag] = node.pop(bound)
                node[bound] = True
        return node
    if isinstance(node, list):
        return [_to_30(v) for v in node]
    return node


def document(app: FastAPI, server: str, cache: dict[str, bytes]) -> bytes:
    """The /ogc part of the app's OpenAPI, as OpenAPI 3.0.3 JSON (cached per server URL in `cache`,
    the app's OgcState.openapi)."""
    hit = cache.get(server)
    if hit is not None:
        return hit
    doc = get_openapi(
        title="CityGrid OGC API", version=app.version, openapi_version="3.0.3",
        description="OGC API – Features (Part 1/2/3) 与 OGC API – Tiles（MVT）。", routes=app.routes,
    )
    doc["paths"] = {path: ops for path, ops in doc.get("paths", {}).items() if path.startswith("/ogc")}
    doc = _to_30(doc)
    _declare_errors(doc)
    doc["servers"] = [{"url": server.rsplit("/ogc", 1)[0]}]
    out = orjson.dumps(doc)
    cache[server] = out
    return out
