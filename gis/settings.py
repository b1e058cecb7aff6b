"""All configuration in one place (environment variables or a `.env` file).

Defaults work on a developer machine: with no `DATABASE_URL` the project runs its own PostgreSQL
cluster under `.pgdata/` in the checkout.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gis.errors import InvalidSetting

ROOT = Path(__file__).resolve().parent.parent

#: The one CRS every geometry is stored in: CGCS2000 geographic, the national datum that the
#: source documents and GB/T 30428 require. It differs from WGS84 by centimetres.
STORAGE_SRID = 4490


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYGRID_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CITYGRID_DATABASE_URL")
    )
    host: str = Field(default="127.0.0.1", validation_alias=AliasChoices("HOST", "CITYGRID_HOST"))
    port: int = Field(default=8000, validation_alias=AliasChoices("PORT", "CITYGRID_PORT"))

    # Project-local PostgreSQL cluster (used only when DATABASE_URL is unset).
    pg_bin: Path = Path("/usr/lib/postgresql/15/bin")
    pg_data: Path = ROOT / ".pgdata"
    pg_port: int = 55432
    pg_database: str = "citygrid"
    pg_os_user: str = "postgres"  # initdb refuses root: run the cluster as this user when root
    #: The hot standby made by `citygrid db standby` (streaming replication of the local cluster):
    #: its folder and port (default: the primary's port + 1). While it exists, the local URL lists
    #: both servers with target_session_attrs=read-write, so the app follows a promotion.
    pg_standby_data: Path = ROOT / ".pgdata-standby"
    pg_standby_port: int | None = None
    #: Commits wait until the standby has the WAL (no acknowledged write is lost in a failover);
    #: the price: writes stall while the standby is down, until `citygrid db standby --drop`.
    pg_standby_sync: bool = True
    #: Read-only bulk work (`citygrid export`, `citygrid batch`) connects with
    #: target_session_attrs=prefer-standby, so it loads the standby instead of the primary.
    reads_on_standby: bool = False

    # Point-in-time recovery (pgBackRest): repository folder (default: `pgbackrest/` beside the
    # cluster's data; put it on another disk in production), full backups kept, stanza name.
    backup_repo: Path | None = None
    backup_retention_full: int = 2
    backup_stanza: str = "citygrid"
    #: WAL segments are archived at least this often (bounds the data lost with the server: RPO).
    archive_timeout_s: int = 60

    # Time partitions (pg_partman, monthly, UTC): whole months older than this many are dropped by
    # `citygrid db maintain` (None = keep all). Positions by `ts`, alarms by `start`.
    retention_positions_months: int | None = Field(default=None, ge=1)
    retention_alarms_months: int | None = Field(default=None, ge=1)

    # Where generated demo data and caches go (ignored by git).
    var_dir: Path = ROOT / "var"

    # Demo district.
    demo_district: str = "310113"
    demo_seed: int = 20261121

    # Extra CRS definitions: name -> PROJ string, e.g. {"SH2000": "+proj=tmerc ..."}.
    local_crs: dict[str, str] = Field(
        default_factory=lambda: {
            # Shanghai city-construction style local system (synthetic parameters: a transverse
            # Mercator centred on the city with false origin at People's Square).
            "LOCAL:SH": "+proj=tmerc +lat_0=31.2363 +lon_0=121.4692 +k=1 +x_0=0 +y_0=0 "
            "+ellps=GRS80 +units=m +no_defs",
        }
    )
    #: Timezone of the district: stop windows "HH:MM" are read in it.
    timezone: str = "Asia/Shanghai"

    # Security.
    #: HMAC key of the audit chain; when unset, a random key is kept in var/secrets/audit.key.
    audit_key: str | None = None
    #: Whether GET requests need a key too (writes always do).
    read_requires_key: bool = False
    #: Failed key attempts per client address before it is refused for `auth_lockout_s`.
    auth_max_failures: int = 10
    auth_lockout_s: int = 300
    #: Seconds an API key's principal is kept in memory after a look-up (api/principals.py): a revoked
    #: key stops working within this time. 0: looked up on every request.
    principal_cache_s: float = 5.0
    #: Requests per second per key (token bucket; burst = 2 s worth).
    rate_limit_per_key: float = 200.0
    cors_origins: list[str] = Field(default_factory=list)
    #: Reverse proxies whose `X-Forwarded-For` is believed (CIDR blocks, comma-separated or a JSON list:
    #: `CITYGRID_TRUSTED_PROXIES=10.0.0.0/8,127.0.0.1`). Only a request from one of them has its client
    #: address taken from the header (its right-most hop that is not a trusted proxy: api/clientaddr.py),
    #: for the lock-out after failed attempts and the audit. Empty: the header is ignored.
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _cidr_blocks(cls, value: object) -> list[str]:
        """A comma-separated string or a list of CIDR blocks (or single addresses), each checked."""
        import ipaddress
        import json

        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else [p for p in text.split(",") if p.strip()]
        if not isinstance(value, list | tuple):
            raise ValueError("trusted_proxies: a comma-separated list of CIDR blocks, e.g. 10.0.0.0/8,127.0.0.1")
        out = []
        for item in value:
            try:
                out.append(str(ipaddress.ip_network(str(item).strip(), strict=False)))
            except ValueError:
                raise ValueError(f"trusted_proxies: {item!r} is not a CIDR block or an IP address") from None
        return out

    # People (issue 17): local accounts and server-side sessions (gis/security/users.py, sessions.py).
    #: A session ends after this long without a request, and this long after login whatever happens.
    session_idle_s: int = 1800
    session_absolute_s: int = 12 * 3600
    #: Failed logins in a row before the account is locked for `login_lockout_s` (per account; the
    #: per-client lock-out of `auth_max_failures` counts failed logins too).
    login_max_failures: int = 5
    login_lockout_s: int = 900
    #: Password rules: at least this many characters, of at least `password_min_classes` of the four
    #: classes (lower case, upper case, digits, other), not containing the user name.
    password_min_length: int = 10
    password_min_classes: int = 3
    #: argon2id cost: OWASP's recommended minimum (m=19 MiB, t=2, p=1); login p95 is measured by
    #: bench/bench_login.py. A changed cost applies to each account at its next login (rehashed then).
    argon2_time_cost: int = 2
    argon2_memory_kib: int = 19456
    argon2_parallelism: int = 1
    #: Always mark the session cookie Secure (otherwise it is Secure when the request came over https,
    #: directly or through a proxy that says X-Forwarded-Proto: https).
    session_cookie_secure: bool = False

    # Single sign-on (OpenID Connect). Off while `oidc_discovery_url` is unset.
    #: The issuer's discovery document, e.g. https://idp.example/.well-known/openid-configuration.
    oidc_discovery_url: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    #: Where the issuer sends the browser back: this server's /api/auth/oidc/callback as seen by the browser.
    oidc_redirect_url: str | None = None
    oidc_scopes: str = "openid profile"
    #: Audiences accepted in bearer tokens of machine clients (default: the client id).
    oidc_audiences: list[str] = Field(default_factory=list)
    #: The claim holding the user's role(s) (a string or a list) and how its values map to roles; the
    #: highest mapped role wins. A token none of whose values maps is refused (403): no mapping, no role.
    oidc_role_claim: str = "roles"
    oidc_role_map: dict[str, str] = Field(default_factory=dict)
    #: The claim holding the area (a region or work-grid code); `oidc_area_map` optionally renames its values.
    oidc_area_claim: str = "area"
    oidc_area_map: dict[str, str] = Field(default_factory=dict)
    #: The claim that names the person (falls back to `sub`).
    oidc_name_claim: str = "preferred_username"
    #: Seconds the discovery document and JWKS are kept (an unknown `kid` refetches the JWKS at once).
    oidc_cache_s: int = 3600
    #: Clock skew tolerated on exp/nbf/iat.
    oidc_leeway_s: int = 30

    # Application keys (数据交换 监控): per-application call counts are flushed to `app_calls` this often.
    usage_flush_s: float = 10.0

    # Web map: an optional raster basemap under the district's own layers. Off by default, so that no
    # request leaves the machine. A 天地图 key adds its WMTS vector map (CGCS2000, no offset); or give
    # XYZ/WMTS URL templates with {z}/{x}/{y} of a WGS84/CGCS2000 basemap (GCJ-02 ones would be shifted).
    tianditu_key: str | None = None
    web_basemap_tiles: list[str] = Field(default_factory=list)
    web_basemap_attribution: str = ""

    # HTTP limits.
    max_body_bytes: int = 64 * 1024 * 1024
    #: Longest a single request's SQL statement may run before it is cancelled.
    statement_timeout_ms: int = 30_000
    max_bulk_points: int = 100_000
    #: Alarm webhooks (gis/fences/webhooks.py): deliver from this server process; first retry delay and
    #: its cap (doubling in between); how long an event may keep failing before it is dead-lettered.
    webhooks_enabled: bool = True
    webhook_retry_s: float = 1.0
    webhook_retry_max_s: float = 300.0
    webhook_max_age_s: float = 86_400.0
    webhook_timeout_s: float = 10.0
    db_pool_size: int = 20
    #: How long a request waits for a pooled connection before answering 503 (e.g. while the
    #: database restarts).
    db_acquire_timeout_s: float = 5.0
    #: The circuit breaker (gis/db/breaker.py): how often a background probe looks at the database,
    #: how long one look may take (libpq's minimum connect timeout is 2 s), and the Retry-After of
    #: the 503s answered while it is unreachable.
    db_probe_interval_s: float = 0.5
    db_probe_timeout_s: int = 2
    db_retry_after_s: int = 2
    #: Threads per worker process for sync endpoints. Their work is short and CPU-bound (numpy, index
    #: look-ups) under one GIL: a few threads keep requests queued fairly in the event loop, where 40
    #: threads convoy on the GIL and stretch the latency tail.
    endpoint_threads: int = 3
    #: Build the in-memory grid and address indexes before the server accepts requests.
    warm_indexes: bool = True

    # OGC API: the largest page served (bigger `limit`s are clamped), the in-memory MVT cache, and
    # the async pool of the OGC hot paths (per worker process).
    ogc_max_limit: int = 10_000
    ogc_tile_cache_mb: int = 128
    ogc_pool_size: int = 8
    #: Part 4 creates of one layer written together (gis/io/write_batch.py): statements in flight at once.
    #: One gives the biggest batches (the least CPU per POST, and the most POSTs/s measured on 2 cores:
    #: docs/benchmarks.md); more overlap one statement's WAL flush with the next one's work.
    ogc_create_statements: int = Field(default=1, ge=1, le=16)
    #: Access log: share of fast successful requests logged (errors and slow requests always are).
    access_log_sample: float = Field(default=1.0, ge=0.0, le=1.0)
    access_log_slow_ms: float = 500.0

    # Beyond one machine (issue 18). With no `redis_url` everything stays in this process: the HTTP
    # ingest stores and evaluates fixes itself, lock-outs and rate limits are per worker process.
    #: Redis (Streams, shared lock-out/rate limits, invalidation messages), e.g. redis://127.0.0.1:6379/0.
    redis_url: str | None = None
    #: "direct" (ingest stores and evaluates in the request) or "broker" (ingest appends to the durable
    #: fix stream and answers once Redis has fsynced it; `citygrid fence-worker` processes evaluate).
    ingest_mode: str = Field(default="direct", pattern="^(direct|broker)$")
    #: Vehicle partitions of the fix stream (a vehicle always maps to the same one: per-vehicle order).
    #: Fixed for the life of a stream: changing it re-maps vehicles.
    stream_partitions: int = Field(default=8, ge=1, le=1024)
    #: Key prefix of everything this deployment keeps in Redis.
    stream_prefix: str = "citygrid"
    #: A fence worker's lease on a partition: how soon a killed worker's partitions are taken over.
    worker_lease_s: float = 5.0
    #: Stream entries a worker reads (and commits in one transaction) at a time.
    worker_batch_entries: int = 16


def _variable(name: str) -> str:
    """The environment variable(s) a field is read from, as the user would write them (pydantic names
    a field by its name, or an aliased one by its first alias)."""
    for field, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices) and name in (field, *alias.choices):
            return " or ".join(str(choice) for choice in alias.choices)
    return f"{Settings.model_config.get('env_prefix', '')}{name}".upper()


@lru_cache
def get_settings() -> Settings:
    """The settings; a value that cannot be used is refused naming its variable, not with a traceback."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(f"{_variable(str(err['loc'][0]))}={err.get('input')!r}: {err['msg']}"
                             if err.get("loc") else err["msg"] for err in exc.errors())
        raise InvalidSetting(f"setting not usable: {problems}") from None
