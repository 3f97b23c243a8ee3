"""Moved to tests/support/alerting.py; this re-export keeps the old import path working
for one merge (new tests import tests.support.alerting)."""

from tests.support.alerting import (
    ALERT_TABLES,
    base_time,
    clear_alerts,
    deliver,
    engine_of,
    evaluate,
    rows,
    send_logs,
)

__all__ = [
    "ALERT_TABLES",
    "base_time",
    "clear_alerts",
    "deliver",
    "engine_of",
    "evaluate",
    "rows",
    "send_logs",
]
