"""The rules of alerting's API: who owns what, what a valid rule is, and the views of
rules, channels, firing alerts, events and deliveries.

A tenant key manages its own rules and channels (`provider` false, its client_id). An
admin key manages the provider's: rules over one client or every client, and channels
only it sees; it also sees every tenant's, and narrows to one with ?client_id= (row-level
security then states that client). Evaluation and delivery are evaluation.py and
delivery.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from central_logger.alerts import channels, history, outbox_repository, repository
from central_logger.alerts.schemas import (
    AlertChannel,
    AlertChannelCreate,
    AlertChannelCreated,
    AlertChannelList,
    AlertRule,
    AlertRuleCreate,
    AlertRuleList,
    Delivery,
)
from central_logger.http.problems import FieldError, ProblemError, validation_problem

_NARROWED = {"environment": "environment", "category": "category", "version": "workflow_version"}


def _visible(provider: bool) -> bool | None:
    """The ownership filter of a listing: an admin sees every row the transaction
    states; a tenant only its own (not the provider's rules about it)."""
    return None if provider else False


# --- rules --------------------------------------------------------------------------------


def _rule_errors(body: AlertRuleCreate) -> list[FieldError]:
    errors = []

    def refuse(field: str, reason: str) -> None:
        errors.append(FieldError(field=f"body.{field}", reason=reason))

    if body.kind == "no_runs":
        if body.threshold is not None:
            refuse("threshold", "no_runs fires when there are no runs: it takes no threshold")
    elif body.threshold is None:
        refuse("threshold", f"required for a {body.kind} rule")
    elif body.kind == "failure_rate" and body.threshold > 100:
        refuse("threshold", "a failure_rate threshold is a percentage: at most 100")
    if body.percentile is not None and body.kind != "latency":
        refuse("percentile", "only a latency rule takes a percentile")
    if body.status is not None and body.kind != "count":
        refuse("status", "only a count rule takes a status (failure_rate counts non-SUCCESS)")
    if body.group_by is not None and getattr(body, _NARROWED[body.group_by]) is not None:
        refuse(
            "group_by",
            f"the rule already narrows {_NARROWED[body.group_by]} to one value;"
            " grouping by it would make one group",
        )
    if len(set(body.channel_ids)) != len(body.channel_ids):
        refuse("channel_ids", "lists a channel twice")
    return errors


def _rule_values(body: AlertRuleCreate) -> dict[str, Any]:
    values = body.model_dump(exclude={"channel_ids", "client_id"})
    if values["status"] is not None:
        values["status"] = values["status"].upper()  # stored statuses are upper case
    if body.kind == "latency" and values["percentile"] is None:
        values["percentile"] = "p95"
    return values


def _rule_client(body: AlertRuleCreate, *, provider: bool, own_client_id: str) -> str | None:
    if provider:
        return body.client_id
    if body.client_id not in (None, own_client_id):
        raise ProblemError(
            403,
            "A tenant key makes rules for its own client only",
            errors=[FieldError(field="body.client_id", reason="requires an admin key")],
        )
    return own_client_id


async def _check_channels(conn: AsyncConnection, channel_ids: list[int], *, provider: bool) -> None:
    """A provider rule notifies the provider's channels; a tenant's rule its own."""
    if not channel_ids:
        return
    found = {
        row["id"]
        for row in await repository.select_channels(
            conn, provider=provider, channel_ids=channel_ids
        )
    }
    missing = [c for c in channel_ids if c not in found]
    if missing:
        owner = "the provider's" if provider else "this client's"
        raise validation_problem(
            [
                FieldError(
                    field="body.channel_ids",
                    reason=f"no such channel among {owner}: {', '.join(map(str, missing))}",
                )
            ]
        )


def _rule(row: RowMapping) -> AlertRule:
    return AlertRule.model_validate(
        {**row, "channel_ids": sorted(row["channel_ids"] or [])}, from_attributes=False
    )


async def create_rule(
    conn: AsyncConnection, *, body: AlertRuleCreate, provider: bool, own_client_id: str
) -> AlertRule:
    errors = _rule_errors(body)
    if errors:
        raise validation_problem(errors)
    client_id = _rule_client(body, provider=provider, own_client_id=own_client_id)
    await _check_channels(conn, body.channel_ids, provider=provider)
    rule_id = await repository.insert_rule(
        conn, values={**_rule_values(body), "client_id": client_id, "provider": provider}
    )
    await repository.replace_links(
        conn, rule_id=rule_id, client_id=client_id, channel_ids=body.channel_ids
    )
    found = await get_rule(conn, rule_id=rule_id, provider=True)
    assert found is not None
    return found


async def get_rule(conn: AsyncConnection, *, rule_id: int, provider: bool) -> AlertRule | None:
    rows = await repository.select_rules(conn, provider=_visible(provider), rule_id=rule_id)
    return _rule(rows[0]) if rows else None


async def list_rules(conn: AsyncConnection, *, provider: bool) -> AlertRuleList:
    """Ordered by client (the provider's rules over every client first), then id."""
    rows = await repository.select_rules(conn, provider=_visible(provider))
    return AlertRuleList(items=[_rule(r) for r in rows])


async def replace_rule(
    conn: AsyncConnection,
    *,
    rule_id: int,
    body: AlertRuleCreate,
    provider: bool,
    own_client_id: str,
) -> AlertRule | None:
    existing = await get_rule(conn, rule_id=rule_id, provider=provider)
    if existing is None:
        return None
    errors = _rule_errors(body)
    if errors:
        raise validation_problem(errors)
    # A rule keeps its owner: an admin editing a tenant's rule keeps it the tenant's.
    client_id = (
        _rule_client(body, provider=True, own_client_id=own_client_id)
        if existing.provider
        else existing.client_id
    )
    await _check_channels(conn, body.channel_ids, provider=existing.provider)
    await repository.update_rule(
        conn,
        rule_id=rule_id,
        provider=_visible(provider),
        values={**_rule_values(body), "client_id": client_id},
    )
    await repository.replace_links(
        conn, rule_id=rule_id, client_id=client_id, channel_ids=body.channel_ids
    )
    if not body.enabled:
        # A disabled rule is not evaluated: its alerts are dropped, not left firing.
        await repository.delete_states(conn, rule_id=rule_id)
    return await get_rule(conn, rule_id=rule_id, provider=provider)


async def delete_rule(conn: AsyncConnection, *, rule_id: int, provider: bool) -> bool:
    return await repository.delete_rule(conn, rule_id=rule_id, provider=_visible(provider))


async def silence_rule(
    conn: AsyncConnection, *, rule_id: int, until: datetime | None, provider: bool
) -> AlertRule | None:
    if not await repository.update_rule(
        conn, rule_id=rule_id, provider=_visible(provider), values={"silenced_until": until}
    ):
        return None
    return await get_rule(conn, rule_id=rule_id, provider=provider)


# --- channels ------------------------------------------------------------------------------


def _channel(row: RowMapping) -> AlertChannel:
    return AlertChannel.model_validate(dict(row))


async def create_channel(
    conn: AsyncConnection,
    *,
    body: AlertChannelCreate,
    provider: bool,
    own_client_id: str,
    allow_private: bool,
) -> AlertChannelCreated:
    if not provider and body.client_id not in (None, own_client_id):
        raise ProblemError(
            403,
            "A tenant key makes channels for its own client only",
            errors=[FieldError(field="body.client_id", reason="requires an admin key")],
        )
    if body.kind == "email":
        if not body.recipients:
            raise validation_problem(
                [FieldError(field="body.recipients", reason="an email channel needs recipients")]
            )
        if body.url is not None:
            raise validation_problem(
                [FieldError(field="body.url", reason="an email channel takes recipients")]
            )
        target = ",".join(body.recipients)
    else:
        if body.url is None:
            raise validation_problem(
                [FieldError(field="body.url", reason=f"a {body.kind} channel needs a url")]
            )
        reason = channels.check_url(body.url, allow_private=allow_private)
        if reason is not None:
            raise validation_problem([FieldError(field="body.url", reason=reason)])
        target = body.url
    secret = channels.new_secret() if body.kind == "webhook" else None
    row = await repository.insert_channel(
        conn,
        values={
            "client_id": body.client_id if provider else own_client_id,
            "provider": provider,
            "name": body.name,
            "kind": body.kind,
            "target": target,
            "secret": secret,
        },
    )
    return AlertChannelCreated(**_channel(row).model_dump(), secret=secret)


async def get_channel(
    conn: AsyncConnection, *, channel_id: int, provider: bool
) -> AlertChannel | None:
    rows = await repository.select_channels(
        conn, provider=_visible(provider), channel_ids=[channel_id]
    )
    return _channel(rows[0]) if rows else None


async def list_channels(conn: AsyncConnection, *, provider: bool) -> AlertChannelList:
    rows = await repository.select_channels(conn, provider=_visible(provider))
    return AlertChannelList(items=[_channel(r) for r in rows])


async def delete_channel(conn: AsyncConnection, *, channel_id: int, provider: bool) -> bool:
    return await repository.delete_channel(conn, channel_id=channel_id, provider=_visible(provider))


async def rotate_secret(
    conn: AsyncConnection, *, channel_id: int, overlap_seconds: int, provider: bool, now: datetime
) -> AlertChannelCreated | None:
    """A new signing secret; the old one keeps signing beside it for the overlap."""
    channel = await get_channel(conn, channel_id=channel_id, provider=provider)
    if channel is None:
        return None
    if channel.kind != "webhook":
        raise ProblemError(409, "Only a webhook channel has a signing secret")
    secret = channels.new_secret()
    await repository.rotate_secret(
        conn,
        channel_id=channel_id,
        provider=_visible(provider),
        secret=secret,
        previous_until=now + timedelta(seconds=overlap_seconds),
    )
    return AlertChannelCreated(**channel.model_dump(), secret=secret)


async def queue_test(
    conn: AsyncConnection,
    *,
    channel_id: int,
    provider: bool,
    now: datetime,
    dashboard_url: str,
    give_up_seconds: float,
) -> Delivery | None:
    """A test notification, through the outbox like any other (the delivery loop sends
    it within ALERTS_DELIVERY_POLL_SECONDS; GET .../deliveries shows its attempts)."""
    channel = await get_channel(conn, channel_id=channel_id, provider=provider)
    if channel is None:
        return None
    body = {
        "type": "alert.test",
        "event_id": None,
        "state": "firing",
        "rule": {"id": None, "name": f"test of channel {channel.name}", "kind": "test"},
        "client_id": channel.client_id,
        "group": None,
        "value": None,
        "threshold": None,
        "window_seconds": 0,
        "occurred_at": now.isoformat(),
        "logs_url": f"{dashboard_url.rstrip('/')}/logs",
    }
    await outbox_repository.insert_outbox(
        conn,
        rows=[
            {
                "client_id": channel.client_id,
                "channel_id": channel_id,
                "reason": "test",
                "body": body,
                "next_attempt_at": now,
                "give_up_at": now + timedelta(seconds=give_up_seconds),
                "created_at": now,
            }
        ],
    )
    deliveries = await history.list_deliveries(
        conn, provider=provider, event_id=None, channel_id=channel_id, limit=1
    )
    return deliveries.items[0]
