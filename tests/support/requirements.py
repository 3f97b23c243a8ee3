"""What a test needs from the machine (the built dashboard, Chromium, Redis, a
PostgreSQL server, curl). Missing on a developer's machine, the test is skipped with a
sentence saying what is missing; under CI (CI=true, as every CI service sets it) the
same sentence fails the test, so a broken CI image cannot pass by skipping."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

MARKER = "requirement"


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(sentence: str) -> NoReturn:
    """Skip the running test, or fail it under CI, saying what is missing."""
    if under_ci():
        pytest.fail(f"{sentence} (CI=true: a missing requirement fails the run)", pytrace=False)
    pytest.skip(sentence)


def requirement(is_missing: bool, sentence: str) -> pytest.MarkDecorator:
    """A mark for a test or a module (`pytestmark`): `missing(sentence)` at the test's
    setup when `is_missing`. tests/conftest.py registers the mark and applies it."""
    mark: pytest.MarkDecorator = getattr(pytest.mark, MARKER)(
        is_missing=is_missing, sentence=sentence
    )
    return mark


def apply_requirements(item: pytest.Item) -> None:
    for mark in item.iter_markers(MARKER):
        if mark.kwargs["is_missing"]:
            missing(mark.kwargs["sentence"])
