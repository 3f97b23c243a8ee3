"""The list's filters (`LogQuery`) tested against one log's summary, in memory: what
the live tail applies to each stored log, the same tests the list's SQL makes
(`repository._Where`). A filter added to the list belongs here too."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from central_logger.logs.models import LogQuery
from central_logger.logs.repository import UNCATEGORIZED

_EQUAL = (
    "client_id",
    "environment",
    "status",
    "ticket_id",
    "workflow_version",
    "resolution_status",
)


def matches(query: LogQuery, summary: Mapping[str, Any], executed_at: datetime) -> bool:
    for name in _EQUAL:
        wanted = getattr(query, name)
        if wanted is not None and summary[name] != wanted:
            return False
    if query.category is not None:
        category = summary["category"]
        if query.category == UNCATEGORIZED:
            if category not in (None, UNCATEGORIZED):
                return False
        elif category != query.category:
            return False
    if query.executed_from is not None and executed_at < query.executed_from:
        return False
    if query.executed_to is not None and executed_at >= query.executed_to:
        return False
    seconds = summary["execution_time_seconds"]
    if query.min_execution_time is not None and (
        seconds is None or seconds < query.min_execution_time
    ):
        return False
    return query.max_execution_time is None or (
        seconds is not None and seconds <= query.max_execution_time
    )
