"""The app factory: `create_app(settings)`, and `app` for `uvicorn central_logger.main:app`."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI

from central_logger import __version__
from central_logger.admin.router import router as admin_router
from central_logger.alerts import delivery as alert_delivery
from central_logger.alerts import evaluation as alert_evaluation
from central_logger.alerts.models import AlertsConfig
from central_logger.alerts.router import router as alerts_router
from central_logger.audit.router import router as audit_router
from central_logger.audit.service import AuditRecorder
from central_logger.auth.router import router as auth_router
from central_logger.auth.service import KeyStore
from central_logger.db.embedded import release_embedded, start_embedded
from central_logger.db.engine import create_engine, create_maintenance_engine
from central_logger.db.migrate import upgrade_to_head
from central_logger.health.router import router as health_router
from central_logger.http.dashboard import STATIC_DIR, DashboardFiles, dashboard_is_built
from central_logger.http.docs import install_docs
from central_logger.http.offload import CpuOffload
from central_logger.http.problems import PROBLEM_RESPONSES, install_problem_handlers
from central_logger.http.responses import ORJSONResponse
from central_logger.http.security import install_security
from central_logger.http.server import (
    install_shutdown_cancellation_log,
    on_stop_signal,
    watch_supervisor,
)
from central_logger.http.state import AppState
from central_logger.insights.router import router as insights_router
from central_logger.logs.router import router as logs_router
from central_logger.logs.writer import LogWriter
from central_logger.metrics.router import router as metrics_router
from central_logger.metrics.service import run_rollup_folder
from central_logger.observability.exposition import router as prometheus_router
from central_logger.observability.metrics import forget_pool, instrument_pool, process_stopped
from central_logger.observability.middleware import RequestContext
from central_logger.otlp.router import router as otlp_router
from central_logger.otlp.service import run_span_purger
from central_logger.ratelimit.dependencies import UNBUDGETED_BODY_BYTES
from central_logger.ratelimit.service import RateLimiter
from central_logger.replica.service import ReadReplica
from central_logger.retention import service as retention
from central_logger.retention.router import router as retention_router
from central_logger.settings import Settings
from central_logger.stream.hub import LiveHub
from central_logger.stream.listener import run_listener
from central_logger.stream.router import router as stream_router

logger = logging.getLogger(__name__)


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL, or the embedded server under CENTRAL_LOGGER_DATA_DIR."""
    if settings.database_url is not None:
        return settings.database_url
    return start_embedded(settings.pgdata_dir)


def create_app(settings: Settings | None = None, *, migrate: bool = True) -> FastAPI:
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A worker of `serve --workers N` stops when that process is gone.
        supervisor_watch = watch_supervisor()
        database_url = await asyncio.to_thread(resolve_database_url, settings)
        if migrate:
            await asyncio.to_thread(upgrade_to_head, database_url)
        engine = create_engine(settings, database_url)
        maintenance = create_maintenance_engine(settings, database_url)
        pool_capacity = settings.db_pool_size + settings.db_max_overflow
        instrument_pool(engine, capacity=pool_capacity)
        await retention.prepare_partitions(engine, days_ahead=settings.partition_days_ahead)
        retention_defaults = retention.Defaults(
            logs_days=settings.retention_days, rollup_days=settings.rollup_retention_days
        )
        policies = retention.PolicyCache(
            engine, retention_defaults, reload_seconds=settings.retention_policy_reload_seconds
        )
        await policies.reload()
        # Its own connection: a run holds one for minutes, which must not keep the
        # rollup folder's vacuum (on `maintenance`) waiting.
        retention_engine = create_maintenance_engine(settings, database_url)
        key_store = KeyStore(
            engine,
            tenant_keys=settings.api_keys,
            admin_keys=settings.admin_api_keys,
            cache_ttl_seconds=settings.key_cache_ttl_seconds,
            miss_reload_seconds=settings.key_miss_reload_seconds,
        )
        audit = AuditRecorder(
            engine,
            max_buckets=settings.audit_max_buckets,
            retention=timedelta(days=settings.audit_retention_days),
        )
        log_writer = LogWriter(
            engine,
            flushers=settings.ingest_flushers,
            max_rows=settings.ingest_max_rows_per_flush,
            publish=settings.live_tail_enabled,
        )
        log_writer.start()
        read_replica = (
            ReadReplica(
                create_engine(settings, settings.database_read_url),
                engine,
                max_lag_seconds=settings.read_replica_max_lag_seconds,
                probe_seconds=settings.read_replica_probe_seconds,
            )
            if settings.database_read_url
            else None
        )
        live_hub = (
            LiveHub(
                resume_events=settings.stream_resume_events,
                buffer_events=settings.stream_buffer_events,
                per_key=settings.stream_max_per_key,
                per_process=settings.stream_max_per_process,
            )
            if settings.live_tail_enabled
            else None
        )
        app.state.central_logger = AppState(
            settings=settings,
            engine=engine,
            key_store=key_store,
            rate_limiter=RateLimiter.from_settings(settings),
            audit=audit,
            log_writer=log_writer,
            read_replica=read_replica,
            retention=policies,
            offload=CpuOffload(
                processes=settings.parse_processes,
                min_bytes=UNBUDGETED_BODY_BYTES,
                preload=["central_logger.logs.preparation", "central_logger.otlp.codec"],
            ),
            live_hub=live_hub,
        )
        background = [
            asyncio.create_task(key_store.run_last_used_flusher()),
            asyncio.create_task(audit.run_flusher(settings.audit_flush_seconds)),
            asyncio.create_task(
                run_rollup_folder(
                    engine, maintenance, interval_seconds=settings.rollup_fold_interval_seconds
                )
            ),
            asyncio.create_task(
                run_span_purger(
                    engine,
                    max_future=timedelta(seconds=settings.max_future_seconds),
                    publish=settings.live_tail_enabled,
                )
            ),
            asyncio.create_task(policies.run_reloader()),
            asyncio.create_task(
                retention.run_retention_loop(
                    engine,
                    retention_engine,
                    defaults=retention_defaults,
                    interval_seconds=settings.retention_interval_seconds,
                    days_ahead=settings.partition_days_ahead,
                    batch_rows=settings.retention_delete_batch_rows,
                )
            ),
        ]
        if read_replica is not None:
            background.append(asyncio.create_task(read_replica.run_prober()))
        if settings.alerts_in_service:
            # One evaluator among every worker (an advisory lock per cycle); deliveries
            # are claimed row by row (SKIP LOCKED), so every worker may send.
            alerts_config = AlertsConfig.from_settings(settings)
            background.append(
                asyncio.create_task(
                    alert_evaluation.run_evaluation_loop(engine, config=alerts_config)
                )
            )
            background.append(
                asyncio.create_task(alert_delivery.run_delivery_loop(engine, config=alerts_config))
            )
        restore_signals = None
        if live_hub is not None:
            listening = asyncio.Event()
            background.append(
                asyncio.create_task(
                    run_listener(
                        database_url,
                        live_hub,
                        application_name=settings.service_name,
                        listening=listening,
                    )
                )
            )
            # A stream opened once the process serves hears every log stored after it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listening.wait(), timeout=10)
            # Streams end at SIGTERM, so uvicorn's graceful shutdown does not wait on them.
            restore_signals = on_stop_signal(live_hub.close)
        # Objects alive at start-up live as long as the process: out of the collector's
        # sight, a full collection walks only what requests allocate. Measured: batch
        # ingestion 8.6k -> 11.1k logs/s, single-log p99 under 64 clients 119 -> 32 ms.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if supervisor_watch is not None:
                supervisor_watch.cancel()
            if live_hub is not None:
                live_hub.close()
            if restore_signals is not None:
                restore_signals()
            for task in background:
                task.cancel()
            # Each ends its transaction before the pools close: a task cancelled mid-fold
            # and not awaited left its connection idle in transaction, holding locks.
            await asyncio.gather(*background, return_exceptions=True)
            with contextlib.suppress(Exception):
                await log_writer.close()
            with contextlib.suppress(Exception):
                await key_store.flush_last_used()
            with contextlib.suppress(Exception):
                await audit.flush()
            app.state.central_logger.offload.close()
            await engine.dispose()
            await maintenance.dispose()
            if read_replica is not None:
                await read_replica.engine.dispose()
            forget_pool(pool_capacity)
            process_stopped()
            await retention_engine.dispose()
            if settings.database_url is None:
                await asyncio.to_thread(release_embedded)

    app = FastAPI(
        title="Central Logger",
        version=__version__,
        description="Workflow execution logs: ingestion, queries and metrics, per tenant.",
        lifespan=lifespan,
        default_response_class=ORJSONResponse,
        # Every operation may answer these problems; documented once for all of them.
        responses=PROBLEM_RESPONSES,
        # /docs is installed below, on the package's own Swagger UI files (http/docs.py).
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    install_problem_handlers(app, retry_after_seconds=settings.retry_after_seconds)
    install_security(app, settings)
    install_shutdown_cancellation_log()
    if settings.docs_enabled:
        install_docs(app, openapi_url="/openapi.json")
    # Outermost: every answer (a 431 or a 500 too) carries the request id and is counted.
    app.add_middleware(RequestContext, key_header=settings.api_key_header)
    app.include_router(health_router)
    app.include_router(auth_router)
    # Before the logs' routes: /logs/stream is not a log id.
    app.include_router(stream_router)
    app.include_router(logs_router)
    app.include_router(metrics_router)
    app.include_router(otlp_router)
    app.include_router(admin_router)
    app.include_router(audit_router)
    app.include_router(prometheus_router)
    app.include_router(retention_router)
    app.include_router(insights_router)
    app.include_router(alerts_router)
    if dashboard_is_built():
        app.mount("/", DashboardFiles(directory=STATIC_DIR, html=True), name="dashboard")
    return app


def __getattr__(name: str) -> FastAPI:
    # Built on first access, so importing this module reads no settings.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
