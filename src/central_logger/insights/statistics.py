"""The few statistics the insights need, written out so each can be checked by hand:
intervals for proportions, a two-proportion test, and robust centre and spread."""

from __future__ import annotations

import math
from collections.abc import Sequence

# 95% two-sided.
Z_95 = 1.959963984540054
# Scales a median absolute deviation to a standard deviation for normal data.
MAD_TO_SIGMA = 1.4826


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (good at small n and near 0 or 1, where the
    textbook p +- z*se interval leaves [0, 1] or collapses)."""
    if trials <= 0:
        return None
    p = successes / trials
    z2 = z * z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int, z: float = Z_95
) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval (method 10) of p_b - p_a, from both Wilson
    intervals. The difference is significant at that level when it excludes 0."""
    a = wilson_interval(successes_a, trials_a, z)
    b = wilson_interval(successes_b, trials_b, z)
    if a is None or b is None:
        return None
    p_a, p_b = successes_a / trials_a, successes_b / trials_b
    difference = p_b - p_a
    lower = difference - math.sqrt((p_b - b[0]) ** 2 + (a[1] - p_a) ** 2)
    upper = difference + math.sqrt((b[1] - p_b) ** 2 + (p_a - a[0]) ** 2)
    return lower, upper


def two_proportion_p_value(
    successes_a: int, trials_a: int, successes_b: int, trials_b: int
) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test (the chi-squared test of a
    2x2 table without continuity correction)."""
    if trials_a <= 0 or trials_b <= 0:
        return None
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    variance = pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b)
    if variance == 0:
        return 1.0
    z = (successes_b / trials_b - successes_a / trials_a) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    middle = n // 2
    return ordered[middle] if n % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def mad(values: Sequence[float]) -> float:
    """Median absolute deviation from the median (unscaled)."""
    centre = median(values)
    return median([abs(v - centre) for v in values])


def quantile(values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between order statistics (numpy's default, type 7)."""
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def binomial_upper_tail(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed exactly in log space."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0:
        return 0.0
    if p >= 1:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    total = 0.0
    for i in range(k, n + 1):
        log_term = (
            math.lgamma(n + 1)
            - math.lgamma(i + 1)
            - math.lgamma(n - i + 1)
            + i * log_p
            + (n - i) * log_q
        )
        total += math.exp(log_term)
    return min(1.0, total)
