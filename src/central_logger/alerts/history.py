"""The views of alerting's state and history: what fires now, the events, and the
deliveries with every attempt. An admin sees every row the transaction states; a
tenant only its own (not the provider's alerts about it)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.alerts import outbox_repository, repository
from central_logger.alerts.notifications import logs_url
from central_logger.alerts.schemas import (
    AlertEvent,
    AlertEventList,
    Delivery,
    DeliveryAttempt,
    DeliveryList,
    FiringAlert,
    FiringAlertList,
)


def _visible(provider: bool) -> bool | None:
    return None if provider else False


async def list_firing(
    conn: AsyncConnection, *, provider: bool, dashboard_url: str, now: datetime
) -> FiringAlertList:
    """Pending and firing alerts, by client."""
    items = []
    for row in await repository.select_active(conn, provider=_visible(provider)):
        items.append(
            FiringAlert(
                rule_id=row["rule_id"],
                rule_name=row["rule_name"],
                client_id=row["client_id"],
                provider=row["provider"],
                group_by=row["group_by"],
                group_key=row["group_key"],
                state=row["state"],
                value=row["value"],
                threshold=row["threshold"],
                pending_since=row["pending_since"],
                firing_since=row["firing_since"],
                silenced_until=row["silenced_until"],
                logs_url=logs_url(
                    dashboard_url,
                    rule_kind=row["kind"],
                    client_id=row["client_id"],
                    group_by=row["group_by"],
                    group_key=row["group_key"],
                    status=row["rule_status"],
                    environment=row["environment"],
                    category=row["category"],
                    workflow_version=row["workflow_version"],
                    start=now - timedelta(seconds=row["window_seconds"]),
                    end=now,
                ),
            )
        )
    return FiringAlertList(items=items)


async def list_events(
    conn: AsyncConnection,
    *,
    provider: bool,
    rule_id: int | None,
    client_id: str | None,
    limit: int,
) -> AlertEventList:
    rows = await repository.select_events(
        conn, provider=_visible(provider), rule_id=rule_id, client_id=client_id, limit=limit
    )
    return AlertEventList(items=[AlertEvent.model_validate(dict(r)) for r in rows])


async def list_deliveries(
    conn: AsyncConnection,
    *,
    provider: bool,
    event_id: int | None,
    channel_id: int | None,
    limit: int,
) -> DeliveryList:
    rows, tried = await outbox_repository.select_deliveries(
        conn, provider=_visible(provider), event_id=event_id, channel_id=channel_id, limit=limit
    )
    attempts: dict[int, list[DeliveryAttempt]] = defaultdict(list)
    for attempt in tried:
        attempts[attempt["outbox_id"]].append(DeliveryAttempt.model_validate(dict(attempt)))
    return DeliveryList(
        items=[
            Delivery.model_validate({**r, "attempt_log": attempts.get(r["id"], [])}) for r in rows
        ]
    )
