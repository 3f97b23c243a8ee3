"""What a notification says: the body every channel renders (the webhook's JSON), and
the link to the dashboard's view of the runs behind an alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from central_logger.alerts.figures import UNCATEGORIZED
from central_logger.alerts.models import Rule


def logs_url(
    dashboard_url: str,
    *,
    rule_kind: str,
    client_id: str,
    group_by: str | None,
    group_key: str,
    status: str | None,
    environment: str | None,
    category: str | None,
    workflow_version: str | None,
    start: datetime,
    end: datetime,
) -> str:
    """The dashboard's Logs page narrowed to the runs behind an alert."""
    filters: dict[str, str | None] = {
        "client": client_id,
        "environment": environment,
        "category": category,
        "workflow_version": workflow_version,
        "status": status if rule_kind == "count" else None,
    }
    if group_by is not None and group_key:
        column = "workflow_version" if group_by == "version" else group_by
        if not (group_by == "category" and group_key == UNCATEGORIZED):
            filters[column] = group_key
    filters["from"] = start.astimezone(UTC).isoformat().replace("+00:00", "Z")
    filters["to"] = end.astimezone(UTC).isoformat().replace("+00:00", "Z")
    query = urlencode({k: v for k, v in filters.items() if v is not None})
    return f"{dashboard_url.rstrip('/')}/logs?{query}"


def notification(
    rule: Rule,
    *,
    client_id: str,
    group_key: str,
    reason: str,
    value: float | None,
    now: datetime,
    event_id: int | None,
    dashboard_url: str,
) -> dict[str, Any]:
    """What every channel says (the webhook's JSON body; Slack and email render it)."""
    start = now - timedelta(seconds=rule.window_seconds)
    return {
        "type": f"alert.{reason}",
        "event_id": event_id,
        "state": "resolved" if reason == "resolved" else "firing",
        "rule": {
            "id": rule.id,
            "name": rule.name,
            "kind": rule.kind,
            "percentile": rule.percentile if rule.kind == "latency" else None,
            "status": rule.status,
            "environment": rule.environment,
            "category": rule.category,
            "workflow_version": rule.workflow_version,
            "provider": rule.provider,
        },
        "client_id": client_id,
        "group": {"by": rule.group_by, "value": group_key} if rule.group_by else None,
        "value": value,
        "threshold": rule.threshold,
        "window_seconds": rule.window_seconds,
        "occurred_at": now.astimezone(UTC).isoformat(),
        "logs_url": logs_url(
            dashboard_url,
            rule_kind=rule.kind,
            client_id=client_id,
            group_by=rule.group_by,
            group_key=group_key,
            status=rule.status,
            environment=rule.environment,
            category=rule.category,
            workflow_version=rule.workflow_version,
            start=start,
            end=now,
        ),
    }
