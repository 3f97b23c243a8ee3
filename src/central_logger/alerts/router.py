"""HTTP for alerts: rules, channels, silences, what fires now, events and deliveries.
A tenant key manages its own; an admin key the provider's, and sees every tenant's
(?client_id= narrows to one)."""

from __future__ import annotations

from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Query
from starlette.responses import Response

from central_logger.alerts import history, service
from central_logger.alerts.evaluation import utc_now
from central_logger.alerts.schemas import (
    AlertChannel,
    AlertChannelCreate,
    AlertChannelCreated,
    AlertChannelList,
    AlertEventList,
    AlertRule,
    AlertRuleCreate,
    AlertRuleList,
    Delivery,
    DeliveryList,
    FiringAlertList,
    SecretRotate,
    Silence,
)
from central_logger.auth.dependencies import ReadConn, ReadPrincipal, TenantConn
from central_logger.http.dependencies import State
from central_logger.http.problems import (
    PROBLEM_RESPONSES,
    FieldError,
    ProblemError,
    validation_problem,
)
from central_logger.http.query import QueryText

BodyWithClient = TypeVar("BodyWithClient", AlertRuleCreate, AlertChannelCreate)

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], responses=PROBLEM_RESPONSES)

RuleId = Annotated[int, Path(ge=1, le=2**62, description="The rule's id")]
ChannelId = Annotated[int, Path(ge=1, le=2**62, description="The channel's id")]
ClientFilter = Annotated[
    QueryText | None, Query(description="Admin keys: only this client's (row-level security)")
]
Limit = Annotated[int, Query(ge=1, le=500)]


def _for_client(body: BodyWithClient, query_client_id: str | None) -> BodyWithClient:
    """An admin's ?client_id= states the tenant of the transaction (row-level security):
    the row must be that client's, so it is the body's client too."""
    if query_client_id is None:
        return body
    if body.client_id not in (None, query_client_id):
        raise validation_problem(
            [FieldError(field="body.client_id", reason="differs from the query's client_id")]
        )
    return body.model_copy(update={"client_id": query_client_id})


def _no_rule(rule_id: int) -> ProblemError:
    return ProblemError(404, f"Alert rule {rule_id} not found")


def _no_channel(channel_id: int) -> ProblemError:
    return ProblemError(404, f"Alert channel {channel_id} not found")


# --- rules --------------------------------------------------------------------------------


@router.get("/rules", operation_id="list_alert_rules", response_model=AlertRuleList)
async def list_alert_rules(
    principal: ReadPrincipal, conn: ReadConn, client_id: ClientFilter = None
) -> AlertRuleList:
    """A tenant's own rules; for admin keys every rule, ordered by client."""
    return await service.list_rules(conn, provider=principal.is_admin)


@router.post("/rules", operation_id="create_alert_rule", response_model=AlertRule, status_code=201)
async def create_alert_rule(
    body: AlertRuleCreate,
    principal: ReadPrincipal,
    conn: TenantConn,
    client_id: ClientFilter = None,
) -> AlertRule:
    return await service.create_rule(
        conn,
        body=_for_client(body, client_id),
        provider=principal.is_admin,
        own_client_id=principal.client_id,
    )


@router.get("/rules/{rule_id}", operation_id="get_alert_rule", response_model=AlertRule)
async def get_alert_rule(rule_id: RuleId, principal: ReadPrincipal, conn: ReadConn) -> AlertRule:
    rule = await service.get_rule(conn, rule_id=rule_id, provider=principal.is_admin)
    if rule is None:
        raise _no_rule(rule_id)
    return rule


@router.put("/rules/{rule_id}", operation_id="replace_alert_rule", response_model=AlertRule)
async def replace_alert_rule(
    rule_id: RuleId, body: AlertRuleCreate, principal: ReadPrincipal, conn: TenantConn
) -> AlertRule:
    rule = await service.replace_rule(
        conn,
        rule_id=rule_id,
        body=body,
        provider=principal.is_admin,
        own_client_id=principal.client_id,
    )
    if rule is None:
        raise _no_rule(rule_id)
    return rule


@router.delete("/rules/{rule_id}", operation_id="delete_alert_rule", status_code=204)
async def delete_alert_rule(
    rule_id: RuleId, principal: ReadPrincipal, conn: TenantConn
) -> Response:
    if not await service.delete_rule(conn, rule_id=rule_id, provider=principal.is_admin):
        raise _no_rule(rule_id)
    return Response(status_code=204)


@router.put("/rules/{rule_id}/silence", operation_id="silence_alert_rule", response_model=AlertRule)
async def silence_alert_rule(
    rule_id: RuleId, body: Silence, principal: ReadPrincipal, conn: TenantConn
) -> AlertRule:
    """Mute the rule's notifications until a time (states and events go on)."""
    rule = await service.silence_rule(
        conn, rule_id=rule_id, until=body.until, provider=principal.is_admin
    )
    if rule is None:
        raise _no_rule(rule_id)
    return rule


# --- channels ------------------------------------------------------------------------------


@router.get("/channels", operation_id="list_alert_channels", response_model=AlertChannelList)
async def list_alert_channels(
    principal: ReadPrincipal, conn: ReadConn, client_id: ClientFilter = None
) -> AlertChannelList:
    return await service.list_channels(conn, provider=principal.is_admin)


@router.post(
    "/channels",
    operation_id="create_alert_channel",
    response_model=AlertChannelCreated,
    status_code=201,
)
async def create_alert_channel(
    body: AlertChannelCreate,
    principal: ReadPrincipal,
    conn: TenantConn,
    state: State,
    client_id: ClientFilter = None,
) -> AlertChannelCreated:
    """A webhook's signing secret is in this answer only (and in a rotation's)."""
    return await service.create_channel(
        conn,
        body=_for_client(body, client_id),
        provider=principal.is_admin,
        own_client_id=principal.client_id,
        allow_private=state.settings.alerts_allow_private_targets,
    )


@router.get("/channels/{channel_id}", operation_id="get_alert_channel", response_model=AlertChannel)
async def get_alert_channel(
    channel_id: ChannelId, principal: ReadPrincipal, conn: ReadConn
) -> AlertChannel:
    channel = await service.get_channel(conn, channel_id=channel_id, provider=principal.is_admin)
    if channel is None:
        raise _no_channel(channel_id)
    return channel


@router.delete("/channels/{channel_id}", operation_id="delete_alert_channel", status_code=204)
async def delete_alert_channel(
    channel_id: ChannelId, principal: ReadPrincipal, conn: TenantConn
) -> Response:
    if not await service.delete_channel(conn, channel_id=channel_id, provider=principal.is_admin):
        raise _no_channel(channel_id)
    return Response(status_code=204)


@router.post(
    "/channels/{channel_id}/rotate-secret",
    operation_id="rotate_alert_channel_secret",
    response_model=AlertChannelCreated,
)
async def rotate_alert_channel_secret(
    channel_id: ChannelId, body: SecretRotate, principal: ReadPrincipal, conn: TenantConn
) -> AlertChannelCreated:
    """A new signing secret; the previous one signs too for `overlap_seconds`."""
    channel = await service.rotate_secret(
        conn,
        channel_id=channel_id,
        overlap_seconds=body.overlap_seconds,
        provider=principal.is_admin,
        now=utc_now(),
    )
    if channel is None:
        raise _no_channel(channel_id)
    return channel


@router.post(
    "/channels/{channel_id}/test",
    operation_id="test_alert_channel",
    response_model=Delivery,
    status_code=202,
)
async def test_alert_channel(
    channel_id: ChannelId, principal: ReadPrincipal, conn: TenantConn, state: State
) -> Delivery:
    """Queue a test notification; its attempts show in GET /deliveries."""
    delivery = await service.queue_test(
        conn,
        channel_id=channel_id,
        provider=principal.is_admin,
        now=utc_now(),
        dashboard_url=state.settings.dashboard_url,
        give_up_seconds=state.settings.alerts_delivery_give_up_seconds,
    )
    if delivery is None:
        raise _no_channel(channel_id)
    return delivery


# --- state, history, deliveries ---------------------------------------------------------------


@router.get("/firing", operation_id="list_firing_alerts", response_model=FiringAlertList)
async def list_firing_alerts(
    principal: ReadPrincipal, conn: ReadConn, state: State, client_id: ClientFilter = None
) -> FiringAlertList:
    """Alerts pending or firing now, each with a link to the runs behind it."""
    return await history.list_firing(
        conn,
        provider=principal.is_admin,
        dashboard_url=state.settings.dashboard_url,
        now=utc_now(),
    )


@router.get("/events", operation_id="list_alert_events", response_model=AlertEventList)
async def list_alert_events(
    principal: ReadPrincipal,
    conn: ReadConn,
    rule_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    client_id: ClientFilter = None,
    limit: Limit = 100,
) -> AlertEventList:
    """State changes, newest first."""
    return await history.list_events(
        conn, provider=principal.is_admin, rule_id=rule_id, client_id=client_id, limit=limit
    )


@router.get("/deliveries", operation_id="list_alert_deliveries", response_model=DeliveryList)
async def list_alert_deliveries(
    principal: ReadPrincipal,
    conn: ReadConn,
    event_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    channel_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    client_id: ClientFilter = None,
    limit: Limit = 100,
) -> DeliveryList:
    """Notifications, newest first, each with every attempt."""
    return await history.list_deliveries(
        conn, provider=principal.is_admin, event_id=event_id, channel_id=channel_id, limit=limit
    )
