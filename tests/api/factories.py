"""Moved to tests/support/factories.py; this re-export keeps the old import path working
for one merge (new tests import tests.support.factories)."""

from tests.support.factories import a_log, with_id

__all__ = ["a_log", "with_id"]
