"""Service settings, read once from the environment and `.env` (the seed's names)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_SQLALCHEMY_SCHEMES = ("postgresql+psycopg://", "postgresql://", "postgres://")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # Unset: an embedded PostgreSQL is started under CENTRAL_LOGGER_DATA_DIR.
    database_url: str | None = None
    central_logger_data_dir: Path = Path(".central-logger")
    service_name: str = "central-logger"
    # "development" also serves the OpenAPI docs at /docs.
    environment: str = "production"
    log_level: str = "info"

    api_key_header: str = "X-API-Key"
    # The seed's form: {"key": "client_id"}; tenant keys with ingest and read scopes.
    api_keys: dict[str, str] = Field(default_factory=dict)
    # Provider keys that read every tenant: a JSON list.
    admin_api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # How long a key lookup is trusted before the key store is asked again; a
    # revoked key stops working in every process within this many seconds.
    key_cache_ttl_seconds: float = 5.0

    max_body_bytes: int = 5 * 1024 * 1024
    max_batch_size: int = 1000
    # Beyond this many matching rows, list totals are reported as a lower bound.
    count_limit: int = 1_000
    # Clock skew tolerated on executed_at.
    max_future_seconds: int = 3600
    # Hostile-input limits: each refusal is its own 422 (or 431 for headers).
    max_json_depth: int = 32
    max_string_length: int = 65_536
    max_header_bytes: int = 16_384

    # Per-key ingestion budgets (sliding window): a key may send `burst` at once and
    # `per_second` on average. RATE_LIMIT_OVERRIDES: {"client_id": {"requests_per_second":
    # 5, "logs_per_second": 500, "requests_burst": 10, "logs_burst": 1000}}.
    rate_limit_enabled: bool = True
    rate_limit_requests_per_second: float = 1_000.0
    rate_limit_requests_burst: int = 2_000
    rate_limit_logs_per_second: float = 50_000.0
    rate_limit_logs_burst: int = 100_000
    rate_limit_overrides: dict[str, dict[str, float]] = Field(default_factory=dict)
    # Unset: budgets live in this process's memory. Set: shared by every worker on Redis.
    redis_url: str | None = None

    # Browser origins allowed to call the API (JSON list or comma-separated); none by default.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Proxies whose X-Forwarded-For / -Proto are believed (uvicorn's forwarded_allow_ips):
    # comma-separated addresses or "*"; unset: proxy headers are ignored.
    forwarded_allow_ips: str | None = None

    # Audit: failed authentications and admin reads are counted in memory and written
    # as at most AUDIT_MAX_BUCKETS rows per flush, so a flood cannot fill the disk.
    audit_flush_seconds: float = 10.0
    audit_max_buckets: int = 100
    audit_retention_days: int = 90

    # The role every service connection acts as (SET at connection start): it owns
    # nothing and does not bypass row-level security. Empty: connect as the URL's user.
    db_role: str = "central_logger_app"

    # How often pending metric deltas are folded into the rollups. Metrics are exact
    # either way (queries read pending deltas too); folding keeps those reads small.
    rollup_fold_interval_seconds: float = 2.0

    # Group commit: concurrent ingestion requests share an insert and its commit. Each
    # worker runs INGEST_FLUSHERS inserts at a time, each of whole requests up to
    # INGEST_MAX_ROWS_PER_FLUSH rows.
    ingest_flushers: int = Field(default=2, ge=1)
    ingest_max_rows_per_flush: int = Field(default=5000, ge=1)

    db_pool_size: int = 10
    db_max_overflow: int = 10
    db_statement_timeout_ms: int = 30_000
    retry_after_seconds: int = 5
    # Request bodies: JSON values and object keys in one body. The parse and every
    # check cost per value, so this bounds one request's CPU on the event loop.
    max_json_values: int = Field(default=250_000, ge=1)

    # Keys and audit: the key store holds every active key's hash and reloads them
    # when its copy is KEY_CACHE_TTL_SECONDS old; a key in our format it does not know
    # (just made by another process, or forged) reloads it at most this often, so a
    # flood of bad keys costs at most one query per interval whatever their number.
    key_miss_reload_seconds: float = Field(default=1.0, gt=0)

    # Fairness: per-tenant read budget. Each tenant (an admin key: the tenant it narrows
    # to) runs at most READ_CONCURRENCY_PER_TENANT database reads at once per worker;
    # more wait in the tenant's own queue, and one that would wait over
    # READ_QUEUE_TIMEOUT_SECONDS, or finds READ_QUEUE_MAX_WAITING waiting, gets a 429.
    read_concurrency_per_tenant: int = Field(default=2, ge=1)
    read_queue_timeout_seconds: float = Field(default=2.0, gt=0)
    read_queue_max_waiting: int = Field(default=64, ge=0)
    # Fairness: per-tenant ingestion work. At most INGEST_CONCURRENCY_PER_TENANT batches or
    # OTLP exports of one tenant are parsed and validated at once per worker (the event
    # loop's CPU); more wait in the tenant's queue, a 429 past the timeout or queue size.
    ingest_concurrency_per_tenant: int = Field(default=1, ge=1)
    ingest_queue_timeout_seconds: float = Field(default=30.0, gt=0)
    ingest_queue_max_waiting: int = Field(default=64, ge=0)

    # Serving (`central-logger serve`). On SIGTERM, requests in flight get this long to
    # finish; then their connections are closed, so one slow upload cannot hold a
    # shutdown (or a rolling deploy) open.
    shutdown_timeout_seconds: int = Field(default=30, ge=1)

    # Storage (docs/retention.md). Logs are kept RETENTION_DAYS unless the tenant has its
    # own policy (`central-logger retention set`, PUT /api/v1/admin/retention/{client});
    # metric rollups ROLLUP_RETENTION_DAYS (or the tenant's own), so charts outlive the
    # logs. A log older than its tenant's retention is refused at ingestion.
    retention_days: int = Field(default=365, ge=1, le=36500)
    rollup_retention_days: int = Field(default=730, ge=1, le=36500)
    # How often the retention run starts (one runner among every worker and replica),
    # and how many rows one of its deletes removes (one short transaction each).
    retention_interval_seconds: float = Field(default=3600, gt=0)
    retention_delete_batch_rows: int = Field(default=1000, ge=1)
    # Daily partitions made ahead of time, besides yesterday's and today's.
    partition_days_ahead: int = Field(default=7, ge=1, le=366)
    # How often a worker reloads the retention policies it checks ingestion against.
    retention_policy_reload_seconds: float = Field(default=5, gt=0)
    # Fairness: ingestion bodies over 64 kB (batches of more than ~200 logs, large single
    # logs) are parsed and validated in this many worker processes per service worker,
    # off the event loop and its GIL (`http/offload.py`); 0 parses them in a thread of
    # the service worker, as smaller bodies are.
    parse_processes: int = Field(default=1, ge=0)
    # Operating (issue 19). GET /metrics (Prometheus): off (404) while METRICS_TOKEN is
    # unset; set, a scrape sends `Authorization: Bearer <METRICS_TOKEN>`.
    metrics_token: str | None = None
    # The service's logs: "json" (one object a line), "console", or "auto": JSON unless
    # the output is a terminal.
    log_format: Literal["auto", "json", "console"] = "auto"
    # HTTPS served by `central-logger serve` itself (PEM files); unset: plain HTTP (TLS
    # ended by a proxy in front, see docs/deploy.md).
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    # Strict-Transport-Security on responses to HTTPS requests (directly, or through a
    # proxy in FORWARDED_ALLOW_IPS that says X-Forwarded-Proto: https); 0: not sent.
    hsts_max_age_seconds: int = Field(default=31_536_000, ge=0)

    # A PostgreSQL streaming replica of DATABASE_URL for the list, detail and metrics
    # reads (docs/scaling.md). Used while it has replayed to within
    # READ_REPLICA_MAX_LAG_SECONDS of the primary, probed every READ_REPLICA_PROBE_SECONDS;
    # otherwise, and for every other read and write, the primary. Unset: no replica.
    database_read_url: str | None = None
    read_replica_max_lag_seconds: float = Field(default=5.0, ge=0)
    read_replica_probe_seconds: float = Field(default=1.0, gt=0)
    # Export (GET /api/v1/logs/export, `central-logger export`): at most this many logs
    # per export; a longer one ends with a marker and the cursor that continues it.
    export_max_rows: int = Field(default=1_000_000, ge=1)
    # Live tail (GET /api/v1/logs/stream, docs/live-tail.md). Off: ingestion sends no
    # notifications, no process listens, and the stream answers 404. Off by default: on,
    # every stored log is a NOTIFY whether or not anyone watches, and under one tenant's
    # batch flood another's single-log p95 rose ~100x (docs/live-tail.md, "Cost").
    live_tail_enabled: bool = False
    # Streams open at once per API key, and in all, in each service process (429 beyond).
    stream_max_per_key: int = Field(default=5, ge=1)
    stream_max_per_process: int = Field(default=200, ge=1)
    # Events a stream holds for a slow client (beyond: dropped and counted in a `missed`
    # event; one flush of ingestion arrives at once, up to INGEST_MAX_ROWS_PER_FLUSH), and
    # events each process keeps for resumes with Last-Event-ID. Streams share the events:
    # a buffered event costs a stream a reference.
    stream_buffer_events: int = Field(default=5000, ge=1)
    stream_resume_events: int = Field(default=10_000, ge=1)

    # Alerts (docs/alerts.md): rules evaluated every ALERTS_EVALUATION_INTERVAL_SECONDS
    # and their notifications delivered from the outbox, inside the service (one
    # evaluator among all workers and replicas) unless ALERTS_IN_SERVICE is false, in
    # which case `central-logger alerts run` does it.
    alerts_in_service: bool = True
    alerts_evaluation_interval_seconds: float = Field(default=30.0, gt=0)
    alerts_delivery_poll_seconds: float = Field(default=2.0, gt=0)
    alerts_delivery_timeout_seconds: float = Field(default=10.0, gt=0)
    # A notification not delivered this long after it was queued is given up.
    alerts_delivery_give_up_seconds: float = Field(default=86_400.0, gt=0)
    # Webhook and Slack targets on private, loopback or link-local addresses are refused
    # (server-side request forgery) unless this is true.
    alerts_allow_private_targets: bool = False
    # The dashboard's public address, for the links in notifications.
    dashboard_url: str = "http://localhost:8000"
    alerts_smtp_host: str | None = None
    alerts_smtp_port: int = 587
    alerts_smtp_user: str | None = None
    alerts_smtp_password: str | None = None
    alerts_smtp_from: str = "central-logger@localhost"
    alerts_smtp_starttls: bool = True

    @field_validator("admin_api_keys", "cors_origins", mode="before")
    @classmethod
    def _parse_admin_keys(cls, value: object) -> object:
        if isinstance(value, str):
            import json

            stripped = value.strip()
            if not stripped:
                return []
            if stripped.startswith("["):
                return json.loads(stripped)
            return [part.strip() for part in stripped.split(",") if part.strip()]
        return value

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _check_scheme(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(_SQLALCHEMY_SCHEMES):
            raise ValueError(
                "DATABASE_URL must start with postgresql://, postgres:// or postgresql+psycopg://"
            )
        return value

    @property
    def docs_enabled(self) -> bool:
        return self.environment == "development"

    @cached_property
    def pgdata_dir(self) -> Path:
        return (self.central_logger_data_dir / "pgdata").resolve()


def to_sqlalchemy_url(url: str) -> str:
    """Every accepted spelling of a PostgreSQL URL, as SQLAlchemy's psycopg 3 dialect."""
    for scheme in _SQLALCHEMY_SCHEMES:
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


def to_libpq_url(url: str) -> str:
    """The same URL as libpq (psql, psycopg.connect) wants it."""
    return "postgresql://" + to_sqlalchemy_url(url)[len("postgresql+psycopg://") :]
