"""Realistic sample logs, shipped through the ingestion service, so that a new
install has metrics and traces to show.

Each client gets a business of its own (support triage, e-commerce returns, KYC
review, IT incident routing, clinic scheduling), picked from its name: its own
categories, steps, failure modes, latency, volume, environments, release history,
working hours, and one bad day, so a provider's overview shows clients that differ."""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine

from central_logger.http.json_checks import JsonLimits
from central_logger.logs import service as logs_service
from central_logger.logs.preparation import prepare_batch
from central_logger.logs.writer import LogWriter


@dataclass(frozen=True)
class Profile:
    workflow: str
    model: str
    ticket_prefix: str
    categories: tuple[tuple[str, float], ...]
    steps: tuple[str, ...]
    failure_rate: float
    failures: tuple[tuple[str, str], ...]  # (status, error) a failed run ends with
    step_seconds: float  # median seconds of one step
    environments: tuple[tuple[str, int], ...]
    versions: tuple[str, ...]  # oldest first: released one after another over the window
    volume: float  # runs relative to --logs-per-client
    utc_offset_hours: int  # where the client's working day is


PROFILES: tuple[Profile, ...] = (
    Profile(
        workflow="support-triage",
        model="triage-large",
        ticket_prefix="TICKET",
        categories=(
            ("billing_issue", 5),
            ("password_reset", 4),
            ("refund_request", 3),
            ("bug_report", 3),
            ("feature_request", 1),
            ("account_access", 2),
            ("spam", 1),
        ),
        steps=("fetch_ticket", "classify", "retrieve_context", "draft_reply", "post_update"),
        failure_rate=0.08,
        failures=(
            ("FAILED", "model returned an invalid reply"),
            ("TIMEOUT", "upstream timed out after 30 s"),
        ),
        step_seconds=0.6,
        environments=(("production", 75), ("staging", 20), ("development", 5)),
        versions=("1.3.0", "1.4.0", "1.4.1"),
        volume=1.0,
        utc_offset_hours=1,
    ),
    Profile(
        workflow="returns-desk",
        model="returns-small",
        ticket_prefix="RMA",
        categories=(
            ("damaged_item", 4),
            ("wrong_size", 5),
            ("late_delivery", 3),
            ("refund_status", 4),
            ("exchange", 2),
        ),
        steps=("load_order", "check_policy", "classify", "issue_label", "notify_customer"),
        failure_rate=0.04,
        failures=(
            ("FAILED", "carrier API refused the label"),
            ("PARTIAL", "label issued, email bounced"),
        ),
        step_seconds=0.25,
        environments=(("production", 90), ("staging", 10)),
        versions=("2.0.0", "2.1.0"),
        volume=1.4,
        utc_offset_hours=-5,
    ),
    Profile(
        workflow="kyc-review",
        model="doc-vision",
        ticket_prefix="KYC",
        categories=(
            ("passport", 4),
            ("drivers_license", 3),
            ("proof_of_address", 3),
            ("sanctions_hit", 1),
            ("blurry_document", 2),
        ),
        steps=("fetch_documents", "ocr", "extract_fields", "sanctions_check", "score", "decide"),
        failure_rate=0.13,
        failures=(
            ("FAILED", "OCR confidence below 0.6"),
            ("TIMEOUT", "sanctions list lookup timed out"),
        ),
        step_seconds=1.6,
        environments=(("production", 60), ("staging", 30), ("sandbox", 10)),
        versions=("0.9.2", "0.9.3", "1.0.0", "1.0.1"),
        volume=0.6,
        utc_offset_hours=0,
    ),
    Profile(
        workflow="incident-router",
        model="ops-router",
        ticket_prefix="INC",
        categories=(
            ("disk_full", 2),
            ("cpu_saturation", 3),
            ("deploy_failure", 2),
            ("certificate_expiry", 1),
            ("network_flap", 2),
            ("noise", 4),
        ),
        steps=("ingest_alert", "dedupe", "classify", "find_owner", "page_oncall"),
        failure_rate=0.06,
        failures=(("ERROR", "pager API returned 503"), ("TIMEOUT", "owner lookup timed out")),
        step_seconds=0.15,
        environments=(("production", 85), ("staging", 15)),
        versions=("3.2.0", "3.3.0"),
        volume=1.8,
        utc_offset_hours=8,
    ),
    Profile(
        workflow="clinic-scheduler",
        model="sched-medium",
        ticket_prefix="APPT",
        categories=(
            ("new_appointment", 5),
            ("reschedule", 4),
            ("cancellation", 2),
            ("prescription_refill", 3),
            ("insurance_question", 1),
        ),
        steps=("read_message", "classify", "check_calendar", "propose_slot", "confirm"),
        failure_rate=0.05,
        failures=(
            ("FAILED", "calendar sync conflict"),
            ("PARTIAL", "slot held, confirmation not sent"),
        ),
        step_seconds=0.9,
        environments=(("production", 80), ("staging", 20)),
        versions=("1.0.0", "1.1.0", "1.2.0"),
        volume=0.8,
        utc_offset_hours=-8,
    ),
)
# Kept for callers that want the first profile's names (bench/).
ENVIRONMENTS = tuple(env for env, _ in PROFILES[0].environments)
CATEGORIES = tuple(cat for cat, _ in PROFILES[0].categories)


def profile_for(client_id: str) -> Profile:
    """A client's business, stable for its name; the first clients of a list differ."""
    digest = hashlib.sha256(client_id.encode()).digest()
    return PROFILES[digest[0] % len(PROFILES)]


def _profiles(client_ids: list[str]) -> dict[str, Profile]:
    """Every client its own profile while there are profiles enough."""
    chosen: dict[str, Profile] = {}
    free = list(PROFILES)
    for client_id in client_ids:
        preferred = profile_for(client_id)
        profile = preferred if preferred in free else (free[0] if free else preferred)
        if profile in free:
            free.remove(profile)
        chosen[client_id] = profile
    return chosen


def sample_log(
    rng: random.Random,
    *,
    executed_at: datetime,
    version: str,
    profile: Profile = PROFILES[0],
    failure_rate: float | None = None,
) -> dict[str, Any]:
    rate = profile.failure_rate if failure_rate is None else failure_rate
    failed = rng.random() < rate
    status, error = rng.choice(profile.failures) if failed else ("SUCCESS", None)
    names, weights = zip(*profile.categories, strict=True)
    category = rng.choices(names, weights=weights)[0]
    trace: list[dict[str, Any]] = []
    started = executed_at
    for step in profile.steps:
        duration = round(rng.lognormvariate(0, 0.6) * profile.step_seconds, 3)
        trace.append(
            {
                "name": step,
                "started_at": started.isoformat(),
                "duration_seconds": duration,
                "status": "ok",
                "input": {"model": profile.model, "temperature": 0.2}
                if step == "classify"
                else {"chars": rng.randint(80, 2000)},
                "output": {"category": category, "confidence": round(rng.uniform(0.55, 0.99), 2)}
                if step == "classify"
                else {"tokens": rng.randint(50, 900)},
            }
        )
        started += timedelta(seconds=duration)
    if error is not None:
        failing = rng.randrange(len(trace))
        trace[failing]["status"] = "error"
        trace[failing]["error"] = error
        trace = trace[: failing + 1]
    envs, env_weights = zip(*profile.environments, strict=True)
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "environment": rng.choices(envs, weights=env_weights)[0],
        "executed_at": executed_at.isoformat(),
        "ticket_id": f"{profile.ticket_prefix}-{rng.randint(1000, 99999)}",
        "status": status,
        "execution_time_seconds": round(sum(step["duration_seconds"] for step in trace), 3),
        "workflow_version": version,
        "category": category,
        "resolution_status": "resolved" if status == "SUCCESS" else "escalated",
        "metrics": {
            "confidence": round(rng.uniform(0.5, 0.99), 3),
            "tokens_in": rng.randint(200, 4000),
            "tokens_out": rng.randint(50, 900),
        },
        "payload": {"trace": trace, "model": profile.model, "workflow": profile.workflow},
    }


def _when(rng: random.Random, profile: Profile, now: datetime, days: int) -> datetime:
    """A moment in the window, busier in the client's working hours and on weekdays."""
    while True:
        moment = now - timedelta(seconds=rng.uniform(0, days * 86400))
        local = moment + timedelta(hours=profile.utc_offset_hours)
        weight = 1.0 if 8 <= local.hour < 19 else 0.25
        if local.weekday() >= 5:
            weight *= 0.4
        if rng.random() < weight:
            return moment


def client_logs(
    client_id: str, profile: Profile, *, count: int, days: int, now: datetime, seed: int
) -> list[dict[str, Any]]:
    """One client's sample runs: its releases roll out in turn, and one day goes badly."""
    rng = random.Random(f"{seed}:{client_id}")  # noqa: S311 - sample data, not secrets
    bad_day = rng.randrange(max(1, days))
    logs = []
    for _ in range(max(1, round(count * profile.volume))):
        executed_at = _when(rng, profile, now, days)
        age = (now - executed_at).total_seconds() / (days * 86400)  # 1 = oldest
        release = min(len(profile.versions) - 1, int((1 - age) * len(profile.versions)))
        version = profile.versions[max(0, release - (rng.random() < 0.1))]
        incident = int((now - executed_at).total_seconds() // 86400) == bad_day
        rate = min(0.9, profile.failure_rate * (4 if incident else 1))
        logs.append(
            sample_log(
                rng, executed_at=executed_at, version=version, profile=profile, failure_rate=rate
            )
        )
    return logs


async def ship_demo_logs(
    engine: AsyncEngine,
    *,
    client_ids: list[str],
    logs_per_client: int,
    days: int,
    seed: int = 7,
) -> int:
    """Ship the sample set; the same seed ships the same ids, so a rerun stores nothing new."""
    now = datetime.now(UTC)
    stored = 0
    writer = LogWriter(engine, flushers=1)
    writer.start()
    try:
        for client_id, profile in _profiles(client_ids).items():
            logs = client_logs(
                client_id, profile, count=logs_per_client, days=days, now=now, seed=seed
            )
            for start in range(0, len(logs), 500):
                prepared = prepare_batch(
                    orjson.dumps(logs[start : start + 500]),
                    JsonLimits(),
                    500,
                    timedelta(hours=1),
                )
                result = await logs_service.store_batch(
                    writer, client_id=client_id, prepared=prepared
                )
                stored += result["accepted"]
    finally:
        await writer.close()
    return stored
