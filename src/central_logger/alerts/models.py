"""The alerts domain's row types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping

from central_logger.settings import Settings


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    client_id: str | None
    provider: bool
    name: str
    kind: str
    threshold: float | None
    min_runs: int
    percentile: str | None
    status: str | None
    environment: str | None
    category: str | None
    workflow_version: str | None
    group_by: str | None
    window_seconds: int
    for_seconds: int
    repeat_seconds: int | None
    silenced_until: datetime | None
    enabled: bool

    @classmethod
    def from_row(cls, row: RowMapping) -> Rule:
        return cls(**{name: row[name] for name in cls.__slots__})

    def silenced(self, now: datetime) -> bool:
        return self.silenced_until is not None and self.silenced_until > now


@dataclass(slots=True)
class Figures:
    """What a rule sees of one group's runs in its window."""

    runs: int = 0
    failed_runs: int = 0
    # Runs with the count rule's status (all runs when it names none).
    matching_runs: int = 0
    percentiles: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StateRow:
    rule_id: int
    client_id: str
    group_key: str
    state: str
    value: float | None
    pending_since: datetime | None
    firing_since: datetime | None
    last_notified_at: datetime | None

    @classmethod
    def from_row(cls, row: RowMapping) -> StateRow:
        return cls(**{name: row[name] for name in cls.__slots__})


@dataclass(frozen=True, slots=True)
class Claimed:
    """An outbox row claimed for one attempt, with its channel."""

    id: int
    client_id: str | None
    reason: str
    body: dict[str, Any]
    attempts: int
    give_up_at: datetime
    channel_kind: str
    target: str
    secrets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str | None
    port: int
    user: str | None
    password: str | None
    sender: str
    starttls: bool


@dataclass(frozen=True, slots=True)
class AlertsConfig:
    """What evaluation and delivery need of the settings."""

    evaluation_interval_seconds: float
    delivery_poll_seconds: float
    delivery_timeout_seconds: float
    give_up_seconds: float
    allow_private_targets: bool
    dashboard_url: str
    smtp: SmtpConfig

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertsConfig:
        return cls(
            evaluation_interval_seconds=settings.alerts_evaluation_interval_seconds,
            delivery_poll_seconds=settings.alerts_delivery_poll_seconds,
            delivery_timeout_seconds=settings.alerts_delivery_timeout_seconds,
            give_up_seconds=settings.alerts_delivery_give_up_seconds,
            allow_private_targets=settings.alerts_allow_private_targets,
            dashboard_url=settings.dashboard_url,
            smtp=SmtpConfig(
                host=settings.alerts_smtp_host,
                port=settings.alerts_smtp_port,
                user=settings.alerts_smtp_user,
                password=settings.alerts_smtp_password,
                sender=settings.alerts_smtp_from,
                starttls=settings.alerts_smtp_starttls,
            ),
        )
