"""Unusual hours, as pure functions of hourly tallies.

Each (client, environment, category) hour is held against the same hour of the week in
the weeks before, with the hour either side (workflows have daily and weekly rhythms,
and neighbouring hours smooth a single odd week): by default 4 weeks x 3 hours = 12
past hours. Three measures, each with its own robust test:

- failure rate: the hour's failures against a binomial at a reference rate that
  allows for the usual hour-to-hour spread (the larger of 1.5 x the pooled past rate,
  the pooled rate + 3 points, and the 90th percentile of the past hours' rates);
  flagged when that tail probability is below `alpha`;
- run count: robust z against the past hours' median, with the MAD (x1.4826) as
  spread but never less than a Poisson spread whose rate wanders 15%
  (sqrt(m + (0.15 m)^2)), and at least twice or at most half the usual count; no runs
  at all where the past hours had `min_runs` or more is flagged on its own;
- p95 execution time: on a log scale against the past hours' p95s, median and MAD,
  the spread never less than 15% (the histogram's buckets are 10% wide).

A minimum volume guards each: a rate or a p95 needs `min_runs` runs in the hour and
history with as many; a count needs a past median of `min_runs`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from central_logger.insights.models import CellTally, Tally
from central_logger.insights.statistics import (
    MAD_TO_SIGMA,
    binomial_upper_tail,
    mad,
    median,
    quantile,
)

HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
Kind = Literal["failure_rate", "run_count", "p95"]
# Counts wander more than Poisson: the spread of a count is never taken below that of a
# Poisson count whose rate itself wanders by this fraction.
OVERDISPERSION = 0.15
_DAYS = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


@dataclass(frozen=True, slots=True)
class Settings:
    weeks: int = 4
    neighbour_hours: int = 1
    min_runs: int = 20
    # Tail probability below which a failure rate is unusual.
    alpha: float = 1e-4
    # Robust z beyond which a count or a p95 is unusual.
    z: float = 4.0
    # A flagged p95 is at least this many times the usual one.
    min_ratio: float = 1.5
    # A flagged count is at least this many times the usual one, or at most its inverse.
    count_ratio: float = 2.0
    # Past hours needed before an hour is judged at all.
    min_history: int = 6


@dataclass(frozen=True, slots=True)
class Anomaly:
    client_id: str
    environment: str
    category: str
    hour: datetime
    kind: Kind
    direction: Literal["up", "down"]
    observed: float
    usual_low: float
    usual_high: float
    expected: float
    runs: int
    score: float
    explanation: str


CellName = tuple[str, str, str]  # client, environment, category


def hourly_cells(tallies: Iterable[CellTally]) -> dict[CellName, dict[datetime, Tally]]:
    """Tallies summed per (client, environment, category) and hour (across versions)."""
    cells: dict[CellName, dict[datetime, Tally]] = {}
    for cell in tallies:
        name = (cell.key.client_id, cell.key.environment, cell.key.category)
        hour = cell.start.replace(minute=0, second=0, microsecond=0)
        cells.setdefault(name, {}).setdefault(hour, Tally()).add(cell.tally)
    return cells


def history_start(start: datetime, settings: Settings) -> datetime:
    """The earliest hour the detection of hours from `start` reads."""
    return start - settings.weeks * WEEK - settings.neighbour_hours * HOUR


def hours_read(
    start: datetime, end: datetime, settings: Settings
) -> list[tuple[datetime, datetime]]:
    """The spans of hours that detecting the hours of [start, end) reads: the range and,
    for each past week, the same hours widened by the neighbouring ones; merged."""
    widen = settings.neighbour_hours * HOUR
    spans = [(start, end)] + [
        (start - week * WEEK - widen, end - week * WEEK + widen)
        for week in range(1, settings.weeks + 1)
    ]
    merged: list[tuple[datetime, datetime]] = []
    for low, high in sorted(spans):
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def detect(
    cells: dict[CellName, dict[datetime, Tally]],
    *,
    start: datetime,
    end: datetime,
    data_start: datetime,
    settings: Settings = Settings(),
) -> list[Anomaly]:
    """Anomalies of the whole hours in [start, end); `data_start` is the first hour the
    tallies cover (hours before it are unknown, not empty). A cell is judged from its
    first hour with runs on: before it the workflow did not exist."""
    found: list[Anomaly] = []
    hours = []
    hour = start
    while hour < end:
        hours.append(hour)
        hour += HOUR
    for name, by_hour in cells.items():
        first_seen = max(min(by_hour), data_start)
        for hour in hours:
            past = _past_hours(hour, first_seen, settings)
            if len(past) < settings.min_history:
                continue
            now = by_hour.get(hour) or Tally()
            history = [by_hour.get(h) or Tally() for h in past]
            found.extend(_judge(name, hour, now, history, settings))
    found.sort(key=lambda a: (a.hour, a.client_id, a.environment, a.category, a.kind))
    return found


def _past_hours(hour: datetime, first_seen: datetime, settings: Settings) -> list[datetime]:
    past = []
    for week in range(1, settings.weeks + 1):
        for offset in range(-settings.neighbour_hours, settings.neighbour_hours + 1):
            moment = hour - week * WEEK + offset * HOUR
            if moment >= first_seen:
                past.append(moment)
    return past


def _judge(
    name: CellName, hour: datetime, now: Tally, history: list[Tally], settings: Settings
) -> list[Anomaly]:
    client_id, environment, category = name
    when = f"at {hour:%H}:00 UTC on {_DAYS[hour.weekday()]}"
    found = []

    def anomaly(
        kind: Kind,
        direction: Literal["up", "down"],
        observed: float,
        usual: tuple[float, float],
        expected: float,
        score: float,
        explanation: str,
    ) -> Anomaly:
        return Anomaly(
            client_id,
            environment,
            category,
            hour,
            kind,
            direction,
            observed,
            usual[0],
            usual[1],
            expected,
            now.runs,
            round(score, 2),
            explanation,
        )

    # Run count.
    counts = [float(t.runs) for t in history]
    usual_runs = median(counts)
    if usual_runs >= settings.min_runs:
        spread = max(
            mad(counts) * MAD_TO_SIGMA,
            math.sqrt(usual_runs + (OVERDISPERSION * usual_runs) ** 2),
        )
        z = (now.runs - usual_runs) / spread
        ratio = (now.runs + 1) / (usual_runs + 1)
        band = (quantile(counts, 0.1), quantile(counts, 0.9))
        # A stop is unusual on its own: no runs where the past hours had min_runs or more.
        stopped = now.runs == 0
        if stopped or (
            abs(z) > settings.z
            and (ratio >= settings.count_ratio or ratio <= 1 / settings.count_ratio)
        ):
            direction: Literal["up", "down"] = "up" if z > 0 else "down"
            found.append(
                anomaly(
                    "run_count",
                    direction,
                    float(now.runs),
                    band,
                    usual_runs,
                    abs(z),
                    f"{now.runs} runs, usually {band[0]:.0f}-{band[1]:.0f} {when}",
                )
            )

    # Failure rate.
    past_runs = sum(t.runs for t in history)
    if now.runs >= settings.min_runs and past_runs >= settings.min_runs:
        pooled = sum(t.failed_runs for t in history) / past_runs
        rates = [t.failed_runs / t.runs for t in history if t.runs > 0]
        band = (quantile(rates, 0.1), quantile(rates, 0.9))
        reference = min(0.99, max(1.5 * pooled, pooled + 0.03, band[1]))
        tail = binomial_upper_tail(now.failed_runs, now.runs, reference)
        if tail < settings.alpha:
            rate = now.failed_runs / now.runs
            found.append(
                anomaly(
                    "failure_rate",
                    "up",
                    rate,
                    band,
                    pooled,
                    -math.log10(max(tail, 1e-300)),
                    f"failure rate {rate:.0%} ({now.failed_runs} of {now.runs} runs), "
                    f"usually {_percent_band(band)} {when}",
                )
            )

    # p95 execution time.
    now_p95 = now.percentile(0.95) if now.runs >= settings.min_runs else None
    past_p95 = [
        p for t in history if t.runs >= settings.min_runs and (p := t.percentile(0.95)) is not None
    ]
    if now_p95 is not None and len(past_p95) >= settings.min_history:
        logs = [math.log(p) for p in past_p95]
        centre = median(logs)
        spread = max(mad(logs) * MAD_TO_SIGMA, math.log(1.15))
        z = (math.log(now_p95) - centre) / spread
        usual = math.exp(centre)
        if z > settings.z and now_p95 >= settings.min_ratio * usual:
            band = (quantile(past_p95, 0.1), quantile(past_p95, 0.9))
            found.append(
                anomaly(
                    "p95",
                    "up",
                    now_p95,
                    band,
                    usual,
                    z,
                    f"p95 {_seconds(now_p95)}, usually {_seconds(band[0])}-"
                    f"{_seconds(band[1])} {when}",
                )
            )
    return found


def _percent_band(band: tuple[float, float]) -> str:
    low, high = round(band[0] * 100), round(band[1] * 100)
    return f"{low}%" if low == high else f"{low}-{high}%"


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"
