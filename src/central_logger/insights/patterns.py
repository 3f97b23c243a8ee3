"""Failure patterns: failed runs grouped by their failing step and error text, with the
parts that vary from run to run masked.

Masking, in order (earlier masks win): URLs, e-mail addresses, UUIDs, timestamps and
dates, IP addresses, quoted strings, then hex strings (8+ digits, or 0x-prefixed) and any
word holding a digit (ids like TICKET-4821, ord_93ab1, 12.5s) and bare numbers. What
is left, with whitespace collapsed, is the template; a pattern is (failing step,
template). Masking is deterministic, so a pattern has the same id in every request and
window, which is what "new since" needs (a streaming template miner such as Drain
builds templates that depend on the order messages arrive in).

Its limit: a variable part that has no digit and is not quoted (a customer's name,
a free-form word) is not masked, so such messages split into several patterns.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from central_logger.insights.models import FailedRun

_MASKS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, flags), token)
    for pattern, flags, token in (
        (r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.IGNORECASE, "<url>"),
        (r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b", 0, "<email>"),
        (
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            re.IGNORECASE,
            "<uuid>",
        ),
        (
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?)?\b",
            re.IGNORECASE,
            "<time>",
        ),
        (r"\b\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\b", 0, "<time>"),
        (r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b", 0, "<ip>"),
        # Hex ids mask as numbers do: one id prints as digits only now and then.
        (r"\b0x[0-9a-f]+\b", re.IGNORECASE, "<*>"),
        (r"\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b", re.IGNORECASE, "<*>"),
        (r"\"[^\"]*\"|'[^']*'", 0, "<str>"),
        (r"[\w.+-]*\d[\w.+-]*", 0, "<*>"),
    )
)
_SPACES = re.compile(r"\s+")
# Error texts are cut here before masking: a stack trace's first lines say what failed.
MAX_ERROR_CHARS = 500


@lru_cache(maxsize=8192)
def mask(text: str) -> str:
    """The template of an error text: its variable parts replaced by placeholders."""
    masked = text[:MAX_ERROR_CHARS]
    for pattern, token in _MASKS:
        masked = pattern.sub(token, masked)
    return _SPACES.sub(" ", masked).strip()


def pattern_id(step: str | None, template: str) -> str:
    """A short stable id of a pattern."""
    return hashlib.sha256(f"{step or ''}\x00{template}".encode()).hexdigest()[:16]


@dataclass(slots=True)
class Pattern:
    id: str
    step: str | None
    template: str
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    versions: set[str] = field(default_factory=set)
    categories: set[str] = field(default_factory=set)
    statuses: set[str] = field(default_factory=set)
    clients: set[str] = field(default_factory=set)
    example_run_ids: list[str] = field(default_factory=list)
    new: bool = False


def template_of(run: FailedRun) -> str:
    return template(run.error, run.status)


def template(error: str | None, status: str) -> str:
    if error is None or not error.strip():
        return f"<no error text> ({status})"
    return mask(error)


def group(
    runs: Iterable[FailedRun], *, seen_before: set[str] | None = None, examples: int = 5
) -> list[Pattern]:
    """Patterns of `runs`, most frequent first; those whose id is not in `seen_before`
    are new (with `seen_before` None, newness is unknown and nothing is marked)."""
    patterns: dict[str, Pattern] = {}
    for run in runs:
        template = template_of(run)
        identifier = pattern_id(run.step, template)
        pattern = patterns.get(identifier)
        if pattern is None:
            pattern = patterns[identifier] = Pattern(identifier, run.step, template)
        pattern.count += 1
        if pattern.first_seen is None or run.executed_at < pattern.first_seen:
            pattern.first_seen = run.executed_at
        if pattern.last_seen is None or run.executed_at > pattern.last_seen:
            pattern.last_seen = run.executed_at
        if run.version is not None:
            pattern.versions.add(run.version)
        pattern.categories.add(run.category or "uncategorized")
        pattern.statuses.add(run.status)
        pattern.clients.add(run.client_id)
        if len(pattern.example_run_ids) < examples:
            pattern.example_run_ids.append(run.id)
    for pattern in patterns.values():
        pattern.new = seen_before is not None and pattern.id not in seen_before
    return sorted(patterns.values(), key=lambda p: (-p.count, p.template))
