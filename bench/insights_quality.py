"""How well the insights find what is there and only that (docs/insights.md, "Quality,
measured"): synthetic tenants with known ground truth, run through the same pure
functions the service calls (insights/anomalies.py, versions.py, patterns.py).

The workload: tenants with two environments and three categories each, five weeks of
hourly history and one week under test; a daily rhythm (busier in working hours), a
weekly one (quiet weekends), Poisson-like counts with extra hour-to-hour noise (the
rate itself wanders +-15%), failure rates that wander too; a fifth of the tenants low
volume (a few runs an hour). Into the week under test go, per tenant, one incident of
each kind on a different cell and day: a failure-rate spike (2 hours at 30%), a
latency shift (2 hours at 2.5x), a workflow that stops (3 working hours at 0 runs).
The same tenants without incidents measure false alarms. Versions: a bad version (5
points more failures, 1.5x slower) against a good one, and two equal versions. Failure
patterns: error texts from 14 templates whose ids, numbers, uuids, e-mails, URLs, hex
and timestamps vary run to run, one of them only in the week under test (new).

    .venv/bin/python -m bench.insights_quality --tenants 20 --seed 1
"""

from __future__ import annotations

import argparse
import math
import random
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from central_logger.insights import anomalies, patterns, versions
from central_logger.insights.models import FailedRun, Tally
from central_logger.metrics import histogram

MONDAY = datetime(2026, 9, 7, tzinfo=UTC)
HISTORY_WEEKS = 5
WEEK = timedelta(days=7)
HOUR = timedelta(hours=1)
ENVIRONMENTS = ("production", "staging")
CATEGORIES = ("billing", "refund", "shipping")
Cell = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class Incident:
    kind: anomalies.Kind
    cell: Cell
    hours: tuple[datetime, ...]
    eligible: bool  # the cell's usual volume passes the minimum-volume guard


@dataclass
class Profile:
    base: float  # runs per hour at a working hour
    failure: float
    seconds: float  # median execution time


def _profile(rng: random.Random, low_volume: bool, environment: str) -> Profile:
    base = rng.uniform(2, 6) if low_volume else rng.uniform(40, 160)
    if environment == "staging":
        base *= 0.3
    return Profile(base=base, failure=rng.uniform(0.02, 0.08), seconds=rng.uniform(0.8, 6))


def _expected_runs(profile: Profile, hour: datetime) -> float:
    daily = 1.0 if 8 <= hour.hour < 18 else 0.35
    weekly = 0.45 if hour.weekday() >= 5 else 1.0
    return profile.base * daily * weekly


def _poisson(rng: random.Random, mean: float) -> int:
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        k += 1
        product *= rng.random()
    return k


def _hour_tally(
    rng: random.Random, profile: Profile, hour: datetime, *, failure: float, slow: float
) -> Tally:
    runs = _poisson(rng, _expected_runs(profile, hour) * rng.lognormvariate(0, 0.15))
    rate = min(0.95, failure * rng.lognormvariate(0, 0.25))
    tally = Tally(runs=runs, failed_runs=sum(rng.random() < rate for _ in range(runs)))
    for _ in range(runs):
        seconds = profile.seconds * slow * rng.lognormvariate(0, 0.35)
        tally.record(histogram.bucket_of(seconds), 1)
    return tally


def _tenant(
    rng: random.Random, low_volume: bool, with_incidents: bool, min_runs: int
) -> tuple[dict[Cell, dict[datetime, Tally]], list[Incident]]:
    name = f"tenant-{rng.getrandbits(32):08x}"
    cells = [(name, e, c) for e in ENVIRONMENTS for c in CATEGORIES]
    profiles = {cell: _profile(rng, low_volume, cell[1]) for cell in cells}
    week = MONDAY + HISTORY_WEEKS * WEEK
    incidents: list[Incident] = []
    if with_incidents:
        picked = rng.sample(cells, 3)
        days = rng.sample(range(5), 3)  # weekdays
        for kind, cell, day, length in zip(
            ("failure_rate", "p95", "run_count"), picked, days, (2, 2, 3), strict=True
        ):
            first = week + timedelta(days=day, hours=rng.randint(9, 14))
            hours = tuple(first + i * HOUR for i in range(length))
            usual = min(_expected_runs(profiles[cell], h) for h in hours)
            incidents.append(Incident(kind, cell, hours, usual >= 1.5 * min_runs))  # type: ignore[arg-type]
    effects = {(i.cell, h): i.kind for i in incidents for h in i.hours}
    data: dict[Cell, dict[datetime, Tally]] = {}
    for cell in cells:
        profile = profiles[cell]
        by_hour: dict[datetime, Tally] = {}
        for index in range((HISTORY_WEEKS + 1) * 168):
            hour = MONDAY + index * HOUR
            effect = effects.get((cell, hour))
            if effect == "run_count":
                continue  # stopped: no runs, no row
            tally = _hour_tally(
                rng,
                profile,
                hour,
                failure=0.30 if effect == "failure_rate" else profile.failure,
                slow=2.5 if effect == "p95" else 1.0,
            )
            if tally.runs:
                by_hour[hour] = tally
        data[cell] = by_hour
    return data, incidents


def anomaly_quality(tenants: int, seed: int, settings: anomalies.Settings) -> dict[str, object]:
    rng = random.Random(seed)
    week = MONDAY + HISTORY_WEEKS * WEEK
    detected: Counter[str] = Counter()
    eligible: Counter[str] = Counter()
    detected_any: Counter[str] = Counter()
    total: Counter[str] = Counter()
    false_alarms: list[int] = []
    false_alarms_low: list[int] = []
    started = time.perf_counter()
    for index in range(tenants):
        low_volume = index % 5 == 4
        tenant_seed = rng.getrandbits(64)
        for with_incidents in (False, True):
            data, incidents = _tenant(
                random.Random(tenant_seed), low_volume, with_incidents, settings.min_runs
            )
            found = anomalies.detect(
                data, start=week, end=week + WEEK, data_start=MONDAY, settings=settings
            )
            if not with_incidents:
                (false_alarms_low if low_volume else false_alarms).append(len(found))
                continue
            hits = {(a.client_id, a.environment, a.category, a.hour, a.kind) for a in found}
            for incident in incidents:
                seen = any((*incident.cell, h, incident.kind) in hits for h in incident.hours)
                total[incident.kind] += 1
                detected_any[incident.kind] += seen
                if incident.eligible:
                    eligible[incident.kind] += 1
                    detected[incident.kind] += seen
    every = false_alarms + false_alarms_low
    return {
        "seconds": time.perf_counter() - started,
        "detection": {
            kind: (detected[kind], eligible[kind], detected_any[kind], total[kind])
            for kind in ("failure_rate", "p95", "run_count")
        },
        "false_alarms_per_tenant_week": sum(every) / len(every),
        "false_alarms_max": max(every),
        "false_alarms_normal": sum(false_alarms) / max(1, len(false_alarms)),
        "false_alarms_low_volume": sum(false_alarms_low) / max(1, len(false_alarms_low)),
    }


def _version_tally(rng: random.Random, runs: int, failure: float, seconds: float) -> Tally:
    tally = Tally(runs=runs, failed_runs=sum(rng.random() < failure for _ in range(runs)))
    for _ in range(runs):
        tally.record(histogram.bucket_of(seconds * rng.lognormvariate(0, 0.35)), 1)
    return tally


def version_quality(trials: int, seed: int) -> dict[str, float]:
    """A bad version (5 points more failures, 1.5x slower) against the good one, each
    with a week of a tenant's runs (300-3000); and two equal versions."""
    rng = random.Random(seed)
    caught = false_calls = 0
    for _ in range(trials):
        runs = rng.randint(300, 3000)
        failure = rng.uniform(0.02, 0.08)
        good = versions.summarise("1.0", _version_tally(rng, runs, failure, 2.0))
        bad = versions.summarise("1.1", _version_tally(rng, runs, failure + 0.05, 3.0))
        same = versions.summarise("1.1", _version_tally(rng, runs, failure, 2.0))
        difference = versions.compare(good, bad)
        caught += difference.significant and (difference.success_rate or 0) < 0
        false_calls += versions.compare(good, same).significant
    return {
        "bad_version_detected": caught / trials,
        "equal_versions_called_different": false_calls / trials,
    }


def _when(r: random.Random) -> str:
    return f"{MONDAY + timedelta(seconds=r.randint(0, 10**6)):%Y-%m-%dT%H:%M:%SZ}"


def _mailbox(r: random.Random) -> str:
    name = r.choice(["ana", "li.wei", "o.berg"])
    return f"{name}{r.randint(1, 99)}@{r.choice(['corp.example', 'mail.test'])}"


def _peer(r: random.Random) -> str:
    return f"10.0.{r.randint(0, 255)}.{r.randint(1, 254)}:{r.randint(1024, 65535)}"


Template = tuple[str, Callable[[random.Random], str]]
_TEMPLATES: tuple[Template, ...] = (
    ("fetch", lambda r: f"Timeout after {r.randint(5, 120)}s calling "
                        f"https://crm.example.com/api/v2/tickets/{r.randint(1, 10**6)}"),
    ("fetch", lambda r: f"upstream returned 502 for request {uuid.UUID(int=r.getrandbits(128))}"),
    ("classify", lambda r: f"model overloaded, retry after {r.uniform(0.5, 30):.1f} seconds"),
    ("classify", lambda r: f"rate limited (429) on key {r.getrandbits(48):012x}"),
    ("classify", lambda r: f"token limit exceeded: {r.randint(8000, 130000)} > 8192"),
    ("respond", lambda r: f"mailbox {_mailbox(r)} rejected the reply"),
    ("respond", lambda r: f"SMTP 451 temporary failure at {_when(r)}"),
    ("assign", lambda r: f"ticket TCK-{r.randint(1000, 99999)} locked by "
                         f"agent_{r.randint(1, 400)}"),
    ("assign", lambda r: f"no agent available in queue Q{r.randint(1, 40)}"),
    ("lookup", lambda r: f"customer {r.randint(10**5, 10**7)} not found"),
    ("lookup", lambda r: f"database error: deadlock detected (pid {r.randint(100, 60000)})"),
    ("lookup", lambda r: f"KeyError: 'order_{r.randint(1, 10**5)}'"),
    ("respond", lambda r: f"connection reset by peer {_peer(r)}"),
)  # fmt: skip
# Appears only in the week under test: a new failure.
_NEW: Template = (
    "fetch",
    lambda r: (
        f"certificate for api-{r.randint(1, 9)}.partner.example expired on "
        f"{MONDAY:%Y-%m-%d}; handshake {r.getrandbits(32):08x} refused"
    ),
)


def pattern_quality(messages: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    history_end = MONDAY + HISTORY_WEEKS * WEEK

    def runs(
        count: int, templates: tuple[Template, ...], start: datetime
    ) -> list[tuple[int, FailedRun]]:
        made = []
        for i in range(count):
            label = rng.randrange(len(templates))
            step, text = templates[label]
            made.append(
                (
                    label,
                    FailedRun(
                        id=str(i),
                        client_id="c",
                        executed_at=start + timedelta(seconds=rng.randint(0, 7 * 86400 - 1)),
                        version="1.0",
                        category="billing",
                        status="FAILED",
                        step=step,
                        error=text(rng),
                    ),
                )
            )
        return made

    earlier = runs(messages, _TEMPLATES, history_end - WEEK)
    seen = {patterns.pattern_id(r.step, patterns.template_of(r)) for _, r in earlier}
    labelled = runs(messages, (*_TEMPLATES, _NEW), history_end)
    grouped = patterns.group((r for _, r in labelled), seen_before=seen, examples=10**9)
    truth = {r.id: label for label, r in labelled}
    by_pattern = {p.id: Counter(truth[i] for i in p.example_run_ids) for p in grouped}
    # Purity: of each pattern's runs, the share of its most common true template.
    purity = sum(c.most_common(1)[0][1] for c in by_pattern.values()) / len(labelled)
    # Completeness: of each true template's runs, the share in its most common pattern.
    per_label: dict[int, Counter[str]] = defaultdict(Counter)
    for pattern_id, counter in by_pattern.items():
        for label, count in counter.items():
            per_label[label][pattern_id] += count
    completeness = sum(c.most_common(1)[0][1] for c in per_label.values()) / len(labelled)
    new_label = len(_TEMPLATES)
    new_patterns = [p for p in grouped if p.new]
    new_found = any(by_pattern[p.id].most_common(1)[0][0] == new_label for p in new_patterns)
    return {
        "purity": purity,
        "completeness": completeness,
        "patterns": len(grouped),
        "templates": len(_TEMPLATES) + 1,
        "new_detected": float(new_found),
        "new_false": float(
            sum(by_pattern[p.id].most_common(1)[0][0] != new_label for p in new_patterns)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--version-trials", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--min-runs", type=int, default=20)
    args = parser.parse_args()
    settings = anomalies.Settings(min_runs=args.min_runs)

    found = anomaly_quality(args.tenants, args.seed, settings)
    print(
        f"anomalies: {args.tenants} tenants x 1 week under test, {HISTORY_WEEKS} weeks of "
        f"history, {len(ENVIRONMENTS) * len(CATEGORIES)} cells each ({found['seconds']:.1f} s)"
    )
    print(
        "| incident | detected (cells above the volume guard) | detected (all, low volume incl.) |"
    )
    print("| --- | --- | --- |")
    for kind, (hit, eligible, hit_any, total) in found["detection"].items():  # type: ignore[attr-defined]
        share = f"{hit / eligible:.0%}" if eligible else "-"
        print(
            f"| {kind} | {hit}/{eligible} = {share} | {hit_any}/{total} = {hit_any / total:.0%} |"
        )
    print(
        "false alarms per tenant-week on clean data: "
        f"{found['false_alarms_per_tenant_week']:.2f} (max {found['false_alarms_max']}; normal "
        f"volume {found['false_alarms_normal']:.2f}, low volume "
        f"{found['false_alarms_low_volume']:.2f})"
    )

    compared = version_quality(args.version_trials, args.seed)
    print(f"versions ({args.version_trials} trials): bad version called significantly worse "
          f"{compared['bad_version_detected']:.0%}; equal versions called different "
          f"{compared['equal_versions_called_different']:.1%} (5% expected at 95%)")  # fmt: skip

    grouped = pattern_quality(args.messages, args.seed)
    print(f"patterns ({args.messages} messages, {grouped['templates']:.0f} true templates -> "
          f"{grouped['patterns']:.0f} patterns): purity {grouped['purity']:.1%}, completeness "
          f"{grouped['completeness']:.1%}; new failure marked new: {grouped['new_detected']:.0%}, "
          f"old patterns marked new: {grouped['new_false']:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
