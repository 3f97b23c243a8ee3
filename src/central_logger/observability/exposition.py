"""`GET /metrics` (the Prometheus text format), and the directory the workers of
`central-logger serve` share their values through.

Not tenant data, but not public either: METRICS_TOKEN unset turns the endpoint off
(404); set, a scrape must send `Authorization: Bearer <METRICS_TOKEN>`.
"""

from __future__ import annotations

import hmac
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.responses import Response

from central_logger.http.dependencies import State
from central_logger.http.problems import FieldError, ProblemError
from central_logger.observability.metrics import LAST_FOLD_METRIC, MULTIPROCESS

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

router = APIRouter(tags=["operations"], include_in_schema=False)


def _fold_lag(metrics: list[Metric]) -> Metric | None:
    """central_logger_rollup_fold_lag_seconds: how long ago the last fold succeeded,
    from the newest fold time any worker recorded."""
    last = max(
        (s.value for m in metrics if m.name == LAST_FOLD_METRIC for s in m.samples),
        default=0.0,
    )
    if last <= 0:
        return None
    return GaugeMetricFamily(
        "central_logger_rollup_fold_lag_seconds",
        "Seconds since the last successful fold of pending metric deltas into the rollups "
        "(metrics stay exact meanwhile; a growing lag makes them slower)",
        value=max(0.0, time.time() - last),
    )


class _Collected(Collector):
    """Metrics collected once, for one scrape."""

    def __init__(self, metrics: list[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics


def _exposition() -> bytes:
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        # Every worker's files, summed (counters, histograms) or per the gauge's mode.
        source: Collector = multiprocess.MultiProcessCollector(None)  # type: ignore[no-untyped-call]
    else:
        source = REGISTRY
    metrics = list(source.collect())
    lag = _fold_lag(metrics)
    if lag is not None:
        metrics.append(lag)
    scrape = CollectorRegistry()
    scrape.register(_Collected(metrics))
    return generate_latest(scrape)


def _check_token(request: Request, token: str | None) -> None:
    if not token:
        raise ProblemError(404, "Not Found")
    sent = request.headers.get("authorization", "")
    scheme, _, credentials = sent.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    ):
        raise ProblemError(
            401,
            "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>",
            errors=[FieldError(field="header.authorization", reason="missing or wrong token")],
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )


@router.get("/metrics", operation_id="get_metrics")
async def get_metrics(request: Request, state: State) -> Response:
    _check_token(request, state.settings.metrics_token)
    return Response(_exposition(), media_type=CONTENT_TYPE_LATEST)


def prepare_multiprocess_dir() -> Path | None:
    """For `serve`, before the app (and prometheus-client) is imported by a worker: the
    directory the workers share their values through, emptied of a previous run's files
    (their counts would be added to this run's). PROMETHEUS_MULTIPROC_DIR when the
    operator set it; else a new temporary directory, returned so the caller removes it
    at exit."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        for stale in path.glob("*.db"):
            stale.unlink()
        return None
    made = Path(tempfile.mkdtemp(prefix="central-logger-metrics-"))
    os.environ[MULTIPROC_ENV] = str(made)
    return made


def remove_multiprocess_dir(path: Path | None) -> None:
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)
