"""The alerts contract: rules, channels, their state, events and deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from central_logger.http.query import LabelQueryText, UtcDateTime

RuleKind = Literal["failure_rate", "no_runs", "latency", "count"]
GroupBy = Literal["environment", "category", "version"]
Percentile = Literal["p50", "p95", "p99"]
ChannelKind = Literal["webhook", "slack", "email"]
AlertState = Literal["ok", "pending", "firing"]
EventState = Literal["ok", "pending", "firing", "resolved"]
Reason = Literal["firing", "resolved", "repeat", "test"]
DeliveryStatus = Literal["pending", "sent", "failed"]

# No control characters: a name goes into email subjects and Slack lines.
Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
ClientId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=255, pattern=r"^[^\x00]+$"),
]
# Longest window a rule may look back over (the rollups keep at least this).
MAX_WINDOW_SECONDS = 31 * 86_400


class AlertRuleCreate(BaseModel):
    """A rule. Cross-field rules (a threshold for every kind but no_runs, a percentile
    for latency only, ...) are checked by the service, each 422 naming its field."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: RuleKind
    threshold: Annotated[float, Field(ge=0, allow_inf_nan=False)] | None = Field(
        None,
        description="failure_rate: percent of runs (0-100, fires at or above); latency: "
        "seconds (fires above); count: runs (fires above); no_runs: none",
    )
    min_runs: Annotated[int, Field(ge=1, le=1_000_000)] = Field(
        1, description="failure_rate and latency: fewer runs in the window never fire"
    )
    percentile: Percentile | None = Field(None, description="latency only (default p95)")
    status: LabelQueryText | None = Field(None, description="count only: runs with this status")
    environment: LabelQueryText | None = None
    category: LabelQueryText | None = None
    workflow_version: LabelQueryText | None = None
    group_by: GroupBy | None = Field(None, description="One alert per value of this field")
    window_seconds: Annotated[int, Field(ge=60, le=MAX_WINDOW_SECONDS)] = 900
    for_seconds: Annotated[int, Field(ge=0, le=86_400)] = Field(
        0, description="How long the condition must hold before the alert fires (pending)"
    )
    repeat_seconds: Annotated[int, Field(ge=60, le=7 * 86_400)] | None = Field(
        None, description="While firing, notify again this often; none: once"
    )
    enabled: bool = True
    channel_ids: Annotated[list[int], Field(max_length=20)] = Field(default_factory=list)
    client_id: ClientId | None = Field(
        None,
        description="Admin keys: the client this provider rule watches (none: every "
        "client). Tenant keys: their own, or omitted",
    )


class AlertRule(BaseModel):
    id: int
    client_id: str | None
    provider: bool = Field(description="Owned by the provider (an admin key made it)")
    name: str
    kind: RuleKind
    threshold: float | None
    min_runs: int
    percentile: Percentile | None
    status: str | None
    environment: str | None
    category: str | None
    workflow_version: str | None
    group_by: GroupBy | None
    window_seconds: int
    for_seconds: int
    repeat_seconds: int | None
    silenced_until: datetime | None
    enabled: bool
    channel_ids: list[int]
    created_at: datetime
    updated_at: datetime


class AlertRuleList(BaseModel):
    items: list[AlertRule]


class Silence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    until: UtcDateTime | None = Field(description="Mute notifications until then; null unmutes")


WebhookUrl = Annotated[str, StringConstraints(min_length=8, max_length=2000)]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=320, pattern=r"^[^@\s,]+@[^@\s,]+$")
]


class AlertChannelCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: ChannelKind
    url: WebhookUrl | None = Field(None, description="webhook and slack: where to POST")
    recipients: Annotated[list[Email], Field(max_length=50)] | None = Field(
        None, description="email: the addresses"
    )
    client_id: ClientId | None = Field(
        None, description="Admin keys: a channel of this client's; none: the provider's own"
    )


class AlertChannel(BaseModel):
    id: int
    client_id: str | None
    provider: bool
    name: str
    kind: ChannelKind
    target: str = Field(description="The URL, or the recipients comma-separated")
    created_at: datetime


class AlertChannelCreated(AlertChannel):
    secret: str | None = Field(
        description="webhook: the Standard Webhooks signing secret, shown once"
    )


class AlertChannelList(BaseModel):
    items: list[AlertChannel]


class SecretRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_seconds: Annotated[int, Field(ge=0, le=30 * 86_400)] = Field(
        86_400, description="How long the old secret keeps signing beside the new one"
    )


class FiringAlert(BaseModel):
    rule_id: int
    rule_name: str
    client_id: str
    provider: bool
    group_by: GroupBy | None
    group_key: str
    state: AlertState
    value: float | None
    threshold: float | None
    pending_since: datetime | None
    firing_since: datetime | None
    silenced_until: datetime | None
    logs_url: str = Field(description="The dashboard's view of the runs behind it")


class FiringAlertList(BaseModel):
    items: list[FiringAlert]


class AlertEvent(BaseModel):
    id: int
    rule_id: int
    rule_name: str | None = Field(description="null once the rule is deleted")
    client_id: str
    provider: bool
    group_key: str
    from_state: EventState
    to_state: EventState
    value: float | None
    threshold: float | None
    occurred_at: datetime


class AlertEventList(BaseModel):
    items: list[AlertEvent]


class DeliveryAttempt(BaseModel):
    attempted_at: datetime
    outcome: Literal["sent", "retry", "failed"]
    status_code: int | None
    error: str | None
    duration_ms: float


class Delivery(BaseModel):
    id: int
    client_id: str | None
    event_id: int | None
    rule_id: int | None
    channel_id: int
    reason: Reason
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    give_up_at: datetime
    created_at: datetime
    sent_at: datetime | None
    body: dict[str, Any]
    attempt_log: list[DeliveryAttempt]


class DeliveryList(BaseModel):
    items: list[Delivery]


class EvaluationReport(BaseModel):
    ran: bool = Field(description="false: another evaluator held the lock")
    rules: int = 0
    changes: int = 0
    notifications: int = 0


class DeliveryReport(BaseModel):
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
