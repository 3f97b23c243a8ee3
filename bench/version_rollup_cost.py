"""What the version rows cost ingestion (docs/insights.md, "Speed"): the same 1000-row
INSERT statements into workflow_logs with the rollup trigger's function as it was
before migration 20261130_version_rollups and as it is now, alternating six rounds of
ten statements each, in a scratch database (dropped at the end).

    .venv/bin/python -m bench.version_rollup_cost postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import importlib.util
import secrets
import statistics
import sys
import time
from pathlib import Path

import psycopg
from psycopg import sql

import central_logger.db as db
from central_logger.db.definitions import load
from central_logger.db.migrate import upgrade_to_head

_MIGRATION = Path(db.__file__).parent / "migrations/versions/20261130_version_rollups.py"
_INSERT = """
    INSERT INTO workflow_logs (id, client_id, environment, workflow_version, executed_at,
                               execution_time_seconds, status, category)
    SELECT gen_random_uuid(), 'c' || mod(i, 20),
           (ARRAY['production', 'staging', 'dev'])[1 + mod(i, 3)],
           (ARRAY['1.3.0', '1.4.0', '1.4.1'])[1 + mod(i / 7, 3)],
           date_trunc('day', now()) + make_interval(secs => mod(i, 80000)),
           0.5 + mod(i, 97) * 0.3, CASE WHEN mod(i, 9) = 0 THEN 'FAILED' ELSE 'SUCCESS' END,
           'cat' || mod(i / 3, 12)
    FROM generate_series(%s::int, %s::int) AS i
"""


def _before() -> str:
    spec = importlib.util.spec_from_file_location("version_rollups", _MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module._RECORD_DELTAS_BEFORE)


def main() -> None:
    server = sys.argv[1]
    name = f"insights_trigger_{secrets.token_hex(3)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = server.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade_to_head(url)
        bodies = {"before": _before(), "after": load("workflow_logs_record_rollup_delta")}
        times: dict[str, list[float]] = {"before": [], "after": []}
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET app.is_admin = 'on'")
            conn.execute("SELECT workflow_logs_create_partition(current_date)")
            first = 0
            for _ in range(6):
                for label, body in bodies.items():
                    conn.execute(body)
                    started = time.perf_counter()
                    for _ in range(10):
                        conn.execute(_INSERT, (first, first + 999))
                        first += 1000
                    times[label].append((time.perf_counter() - started) / 10)
        before, after = (statistics.median(times[k]) * 1000 for k in ("before", "after"))
        print(f"median 1000-row INSERT: before {before:.1f} ms, after {after:.1f} ms")
        print(f"ratio after/before: {after / before:.2f}")
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


if __name__ == "__main__":
    main()
