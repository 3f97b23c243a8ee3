"""The insights' methods as pure functions, checked against figures computed
independently: published worked examples, the standard library, and sums written out
another way."""

from __future__ import annotations

import math
import random
import statistics as stdlib
from datetime import UTC, datetime, timedelta

import pytest

from central_logger.insights import anomalies, patterns, statistics, versions
from central_logger.insights.models import CellKey, CellTally, FailedRun, Tally
from central_logger.metrics import histogram

# --- statistics ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "trials", "low", "high"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion",
        # Table I, method 3 (Wilson score, no continuity correction).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_published_figures(
    successes: int, trials: int, low: float, high: float
) -> None:
    interval = statistics.wilson_interval(successes, trials)
    assert interval is not None
    assert interval[0] == pytest.approx(low, abs=5e-5)
    assert interval[1] == pytest.approx(high, abs=5e-5)


@pytest.mark.parametrize(
    ("a", "b", "low", "high"),
    [
        # Newcombe (1998), "Interval estimation for the difference between independent
        # proportions", Table II, method 10, examples (a) and (b): p1 - p2.
        ((56, 70), (48, 80), 0.0524, 0.3339),
        ((9, 10), (3, 10), 0.1705, 0.8090),
    ],
)
def test_newcombe_interval_matches_published_figures(
    a: tuple[int, int], b: tuple[int, int], low: float, high: float
) -> None:
    # Ours is candidate (second) minus baseline (first): pass the paper's p2 first.
    interval = statistics.newcombe_difference(b[0], b[1], a[0], a[1])
    assert interval is not None
    assert interval[0] == pytest.approx(low, abs=5e-4)
    assert interval[1] == pytest.approx(high, abs=5e-4)


def test_two_proportion_p_value_is_the_pearson_chi_squared_test() -> None:
    # Pearson's chi-squared of the 2x2 table from expected counts, and its df=1 tail.
    table = [[56, 14], [48, 32]]
    rows = [sum(r) for r in table]
    columns = [table[0][j] + table[1][j] for j in range(2)]
    n = sum(rows)
    chi2 = sum(
        (table[i][j] - rows[i] * columns[j] / n) ** 2 / (rows[i] * columns[j] / n)
        for i in range(2)
        for j in range(2)
    )
    expected = math.erfc(math.sqrt(chi2 / 2))
    assert statistics.two_proportion_p_value(56, 70, 48, 80) == pytest.approx(expected)
    assert expected == pytest.approx(0.00804, abs=1e-4)  # z = 2.650 by hand


def test_binomial_tail_is_the_sum_of_the_terms() -> None:
    for k, n, p in [(0, 10, 0.3), (3, 10, 0.3), (7, 20, 0.05), (60, 100, 0.5), (11, 10, 0.5)]:
        exact = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
        assert statistics.binomial_upper_tail(k, n, p) == pytest.approx(exact, rel=1e-9)


def test_robust_centre_and_spread_agree_with_the_standard_library() -> None:
    rng = random.Random(3)
    for size in (1, 2, 5, 12, 13):
        values = [rng.uniform(0, 100) for _ in range(size)]
        assert statistics.median(values) == stdlib.median(values)
        centre = stdlib.median(values)
        assert statistics.mad(values) == stdlib.median([abs(v - centre) for v in values])
        if size > 1:
            deciles = stdlib.quantiles(values, n=10, method="inclusive")
            assert statistics.quantile(values, 0.1) == pytest.approx(deciles[0])
            assert statistics.quantile(values, 0.9) == pytest.approx(deciles[-1])


# --- versions -----------------------------------------------------------------------------


def _tally(runs: int, failed: int, seconds: list[float] | None = None) -> Tally:
    tally = Tally(runs=runs, failed_runs=failed)
    for value in seconds or []:
        tally.record(histogram.bucket_of(value), 1)
    return tally


def test_a_worse_version_is_significantly_worse() -> None:
    old = versions.summarise("1.0", _tally(400, 20, [1.0] * 400))
    new = versions.summarise("1.1", _tally(300, 45, [2.0] * 300))
    difference = versions.compare(old, new)
    assert difference.significant
    assert difference.success_rate == pytest.approx(255 / 300 - 380 / 400)
    assert difference.interval is not None
    assert difference.interval[1] < 0
    assert difference.p95_ratio == pytest.approx(2.0, rel=0.1)
    assert "1.1 succeeds worse than 1.0" in difference.verdict


def test_a_small_difference_on_few_runs_is_not_significant() -> None:
    old = versions.summarise("1.0", _tally(20, 2))
    new = versions.summarise("1.1", _tally(20, 4))
    difference = versions.compare(old, new)
    assert not difference.significant
    assert difference.p_value is not None
    assert difference.p_value > 0.05
    assert "no significant difference" in difference.verdict
    empty = versions.summarise("1.2", Tally())
    assert versions.compare(old, empty).verdict == "not enough runs to compare"


def test_trends_put_the_category_that_got_worst_first() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)
    days = [start + timedelta(days=i) for i in range(4)]
    key = CellKey("c", "1", "production", "")
    cells = []
    for i, day in enumerate(days):
        cells.append(CellTally(CellKey("c", "1", "production", "billing"), day, _tally(100, 5)))
        # refund: 5% failures in the first half, 40% in the second.
        cells.append(
            CellTally(
                CellKey("c", "1", "production", "refund"), day, _tally(100, 5 if i < 2 else 40)
            )
        )
        cells.append(CellTally(key, day, _tally(10, 0)))
    trends = versions.category_trends(cells, buckets=days, middle=days[2])
    assert [t.category for t in trends][:1] == ["refund"]
    refund = trends[0]
    assert refund.success_rate_change == pytest.approx(0.60 - 0.95)
    assert [p.runs for p in refund.points] == [100] * 4
    assert "uncategorized" in {t.category for t in trends}


# --- anomalies ----------------------------------------------------------------------------

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)


def _seasonal(
    rng: random.Random, weeks: int, *, base: int = 60, failure: float = 0.05
) -> dict[datetime, Tally]:
    """Hourly tallies with a daily rhythm (busier by day) and quiet weekends."""
    hours: dict[datetime, Tally] = {}
    for index in range(weeks * 168):
        hour = MONDAY + timedelta(hours=index)
        level = base * (1.5 if 8 <= hour.hour < 18 else 0.6) * (0.5 if hour.weekday() >= 5 else 1)
        runs = max(0, round(rng.gauss(level, math.sqrt(level))))
        failed = sum(rng.random() < failure for _ in range(runs))
        seconds = [rng.lognormvariate(0, 0.3) for _ in range(runs)]
        hours[hour] = _tally(runs, failed, seconds)
    return hours


def _detect(cell: dict[datetime, Tally], weeks: int) -> list[anomalies.Anomaly]:
    start = MONDAY + timedelta(weeks=weeks - 1)
    return anomalies.detect(
        {("c", "production", "billing"): cell},
        start=start,
        end=start + timedelta(weeks=1),
        data_start=MONDAY,
    )


def test_clean_seasonal_data_raises_at_most_one_alarm_a_week() -> None:
    for seed in range(3):
        assert len(_detect(_seasonal(random.Random(seed), 5), 5)) <= 1


def test_a_failure_spike_is_flagged_and_explained() -> None:
    cell = _seasonal(random.Random(7), 5)
    spike = MONDAY + timedelta(weeks=4, days=1, hours=10)  # a Tuesday, 10:00
    cell[spike] = _tally(90, 34, [1.0] * 90)
    found = [a for a in _detect(cell, 5) if a.kind == "failure_rate"]
    assert [a.hour for a in found] == [spike]
    assert found[0].explanation.startswith("failure rate 38% (34 of 90 runs), usually ")
    assert found[0].explanation.endswith("at 10:00 UTC on Tuesdays")
    assert found[0].usual_high < 0.15


def test_a_workflow_that_stops_is_flagged_and_a_slow_hour_too() -> None:
    cell = _seasonal(random.Random(8), 5)
    stopped = MONDAY + timedelta(weeks=4, days=2, hours=14)
    del cell[stopped]
    slow = MONDAY + timedelta(weeks=4, days=3, hours=11)
    cell[slow] = _tally(90, 4, [4.0] * 90)
    found = {(a.hour, a.kind): a for a in _detect(cell, 5)}
    assert found[(stopped, "run_count")].direction == "down"
    assert found[(stopped, "run_count")].observed == 0
    assert found[(slow, "p95")].observed == pytest.approx(4.0, rel=0.1)


def test_low_volume_and_short_history_are_not_judged() -> None:
    quiet = _seasonal(random.Random(9), 5, base=3)
    hour = MONDAY + timedelta(weeks=4, hours=12)
    quiet[hour] = _tally(4, 4)  # every run failed, but only four
    assert _detect(quiet, 5) == []
    young = _seasonal(random.Random(10), 1)
    young[MONDAY + timedelta(hours=12)] = _tally(90, 80)
    assert _detect(young, 1) == []  # no week before it to compare with


# --- patterns -----------------------------------------------------------------------------


def _run(error: str | None, *, step: str = "respond", day: int = 1) -> FailedRun:
    return FailedRun(
        id=f"run-{random.random()}",
        client_id="c",
        executed_at=datetime(2026, 11, day, tzinfo=UTC),
        version="1.0",
        category="billing",
        status="FAILED",
        step=step,
        error=error,
    )


def test_messages_differing_in_variable_parts_share_a_pattern() -> None:
    runs = [
        _run(f"Timeout after {s}s calling https://api.example.com/v1/orders/{n} for {u}")
        for s, n, u in [(30, 17, "a@b.io"), (12, 99881, "x.y@corp.example"), (5, 3, "q@r.st")]
    ] + [
        _run(f"order 3fa85f64-5717-4562-b3fc-2c963f66afa{i} not found at 2026-11-0{i}T10:00:00Z")
        for i in range(1, 4)
    ]
    grouped = patterns.group(runs)
    assert [p.count for p in grouped] == [3, 3]
    assert {p.template for p in grouped} == {
        "Timeout after <*> calling <url> for <email>",
        "order <uuid> not found at <time>",
    }


def test_the_same_text_at_another_step_is_another_pattern_and_new_is_marked() -> None:
    earlier = [_run("rate limited (429)", step="classify")]
    seen = {patterns.pattern_id(r.step, patterns.template_of(r)) for r in earlier}
    grouped = patterns.group(
        [_run("rate limited (503)", step="classify"), _run("rate limited (429)"), _run(None)],
        seen_before=seen,
    )
    by_step = {(p.step, p.template): p for p in grouped}
    assert not by_step[("classify", "rate limited (<*>)")].new
    assert by_step[("respond", "rate limited (<*>)")].new
    assert by_step[("respond", "<no error text> (FAILED)")].new
