"""A repeatable mutation check: a fixed list of small, plausible bugs in the logic that
matters most (tenancy, cursor paging, counting, metrics, validation, keys, rate limits,
audit, body limits), each applied alone to a copy of the tree, with the tests that
should catch it run against that copy. A mutant is *caught* when those tests fail, and
*survives* when they pass. The working tree is never modified.

    make mutants                        # every mutant (TEST_DATABASE_URL, else embedded)
    python -m bench.mutants --list      # the mutants, one a line
    python -m bench.mutants cursor-last-page-full count-at-limit

A fixed list rather than a mutation tool: each mutant is a bug someone could write, the
list runs in minutes, and the result is the same from run to run (docs/testing.md
records it). The copy is imported ahead of the editable install (PYTHONPATH), and each
pytest run migrates its own database from the copy, so a mutant in SQL built by Python
reaches the schema too.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = "src/central_logger/"


@dataclass(frozen=True)
class Mutant:
    name: str
    area: str
    path: str  # under src/central_logger/
    old: str  # must occur exactly once in the file
    new: str
    tests: tuple[str, ...]  # what should catch it, under tests/api/


MUTANTS = [
    # --- Cursor paging
    Mutant(
        "cursor-last-page-full",
        "paging",
        "logs/service.py",
        "if len(page.items) > params.page_size:",
        "if len(page.items) >= params.page_size:",
        ("test_boundaries.py", "test_list.py"),
    ),
    Mutant(
        "cursor-keyset-inclusive",
        "paging",
        "logs/repository.py",
        'compare = "<" if newest_first else ">"',
        'compare = "<=" if newest_first else ">="',
        ("test_list.py", "test_boundaries.py"),
    ),
    Mutant(
        "cursor-order-unchecked",
        "paging",
        "logs/service.py",
        "if decoded.o != order:",
        "if decoded.o != order and False:",
        ("test_list.py",),
    ),
    # --- Counting
    Mutant(
        "count-at-limit",
        "counting",
        "logs/service.py",
        '"total_exact": counted <= count_limit,',
        '"total_exact": counted < count_limit,',
        ("test_boundaries.py", "test_list.py"),
    ),
    Mutant(
        "count-no-lookahead",
        "counting",
        "logs/service.py",
        "count_limit=count_limit + 1,",
        "count_limit=count_limit,",
        ("test_boundaries.py", "test_list.py"),
    ),
    # --- List filters
    Mutant(
        "filter-uncategorized-named",
        "filters",
        "logs/repository.py",
        'clauses.append(f"(category IS NULL OR category = {self.bind(UNCATEGORIZED)})")',
        'clauses.append("category IS NULL")',
        ("test_boundaries.py", "test_list.py"),
    ),
    Mutant(
        "filter-to-inclusive",
        "filters",
        "logs/repository.py",
        '("executed_at <", query.executed_to),',
        '("executed_at <=", query.executed_to),',
        ("test_list.py", "test_boundaries.py", "test_list_windows.py"),
    ),
    # --- Metrics
    Mutant(
        "metrics-raw-edge-failed-as-success",
        "metrics",
        "metrics/repository.py",
        "\"(status <> 'SUCCESS')::int AS failed_runs, \"",
        "\"(status NOT IN ('SUCCESS', 'FAILED'))::int AS failed_runs, \"",
        ("test_boundaries.py", "test_metrics.py"),
    ),
    Mutant(
        "metrics-categories-raw-edge-failed-as-success",
        "metrics",
        "metrics/repository.py",
        "\"count(*) FILTER (WHERE status <> 'SUCCESS') AS failed_runs, \"",
        "\"count(*) FILTER (WHERE status NOT IN ('SUCCESS', 'FAILED')) AS failed_runs, \"",
        ("test_boundaries.py", "test_metrics.py"),
    ),
    Mutant(
        "metrics-percentile-half-rank",
        "metrics",
        "metrics/histogram.py",
        "within = (rank - seen + 0.5) / count",
        "within = (rank - seen) / count",
        ("test_boundaries.py", "test_metrics.py"),
    ),
    Mutant(
        "metrics-last-raw-edge-dropped",
        "metrics",
        "metrics/service.py",
        "for span in ((start, first_hour), (last_hour, end)) if span[0] < span[1]]",
        "for span in ((start, first_hour),) if span[0] < span[1]]",
        ("test_boundaries.py", "test_metrics.py"),
    ),
    # --- Validation
    Mutant(
        "validation-future-limit-1.5x",
        "validation",
        "logs/validation.py",
        "latest = now + max_future",
        "latest = now + max_future * 1.5",
        ("test_boundaries.py", "test_ingest.py"),
    ),
    Mutant(
        "validation-batch-size-off-by-one",
        "validation",
        "logs/preparation.py",
        "if len(body) > max_batch_size:",
        "if len(body) > max_batch_size + 1:",
        ("test_boundaries.py", "test_batch.py"),
    ),
    Mutant(
        "validation-json-depth-doubled",
        "validation",
        "http/json_checks.py",
        "for _ in range(max_depth):",
        "for _ in range(max_depth * 2):",
        ("test_hostile.py",),
    ),
    # --- Body limits
    Mutant(
        "body-streamed-limit-unchecked",
        "body limits",
        "http/body.py",
        "            if size > max_bytes:\n",
        "            if size > max_bytes * 2:\n",
        ("test_boundaries.py", "test_hostile.py"),
    ),
    # Not a mutant here: loosening the check of a declared Content-Length. The body is
    # still counted as it is read and refused at the same byte (an equivalent mutant).
    Mutant(
        "body-gunzip-limit-unchecked",
        "body limits",
        "http/body.py",
        "if len(out) > max_bytes or inflater.unconsumed_tail:",
        "if False:",
        ("test_hostile.py",),
    ),
    # --- Tenancy
    Mutant(
        "tenancy-every-transaction-admin",
        "tenancy",
        "db/tenancy.py",
        '"is_admin": "on" if client_id is None else "off"',
        '"is_admin": "on"',
        ("test_rls.py", "test_isolation.py"),
    ),
    Mutant(
        "tenancy-tenant-key-names-another-client",
        "tenancy",
        "auth/tenancy.py",
        "if requested_client_id not in (None, principal.client_id):",
        "if requested_client_id not in (None, principal.client_id) and False:",
        ("test_isolation.py", "test_rls.py"),
    ),
    Mutant(
        "tenancy-admin-narrowing-ignored",
        "tenancy",
        "auth/tenancy.py",
        "        return Tenancy(requested_client_id)\n",
        "        return Tenancy(None)\n",
        ("test_isolation.py", "test_rls.py"),
    ),
    Mutant(
        "tenancy-tenant-key-writes-as-another-client",
        "tenancy",
        "auth/tenancy.py",
        "if not principal.is_admin and requested_client_id != principal.client_id:",
        "if False:",
        ("test_isolation.py", "test_ingest.py", "test_rls.py"),
    ),
    # --- Keys
    Mutant(
        "keys-revoked-still-loaded",
        "keys",
        "auth/repository.py",
        "            api_keys.c.expires_at,\n        )\n"
        "        .where(api_keys.c.revoked_at.is_(None))\n",
        "            api_keys.c.expires_at,\n        )\n",
        ("test_keys.py", "test_own_keys.py", "test_admin_keys.py"),
    ),
    Mutant(
        "keys-expiry-unchecked-in-cache",
        "keys",
        "auth/service.py",
        "if stored.expires_at is not None and stored.expires_at <= datetime.now(UTC):",
        "if False:",
        ("test_boundaries.py", "test_keys.py", "test_admin_keys.py"),
    ),
    Mutant(
        "keys-scope-unchecked",
        "keys",
        "auth/dependencies.py",
        "if scope not in principal.scopes:",
        "if False:",
        ("test_keys.py", "test_own_keys.py", "test_admin_keys.py"),
    ),
    # --- Rate limits
    Mutant(
        "ratelimit-never-charged",
        "rate limits",
        "ratelimit/service.py",
        "if not self.enabled or cost <= 0:",
        "if True:",
        ("test_ratelimit.py",),
    ),
    Mutant(
        "ratelimit-burst-check-loosened",
        "rate limits",
        "ratelimit/service.py",
        "if cost > allowance.burst:",
        "if cost > allowance.burst * 2:",
        ("test_ratelimit.py",),
    ),
    # --- Audit
    Mutant(
        "audit-bad-key-not-recorded",
        "audit",
        "auth/dependencies.py",
        "        state.audit.auth_failed(key_prefix=prefix, remote_addr=remote_addr)\n",
        "",
        ("test_audit.py",),
    ),
    Mutant(
        "audit-admin-read-not-recorded",
        "audit",
        "auth/dependencies.py",
        'if principal.is_admin and request.method == "GET":',
        "if False:",
        ("test_audit.py",),
    ),
]


def _copy_tree(into: Path) -> Path:
    ignore = shutil.ignore_patterns(
        ".git",
        ".venv",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "dist",
        "build",
        ".central-logger",
    )
    tree = into / "tree"
    shutil.copytree(ROOT, tree, ignore=ignore, symlinks=True)
    return tree


def _run_tests(tree: Path, tests: tuple[str, ...], log: Path) -> tuple[int, float]:
    env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{tree}"}
    env.pop("PYTEST_ADDOPTS", None)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        *(f"tests/api/{t}" for t in tests),
    ]
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.run(command, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT)
    return code.returncode, time.monotonic() - started


def _apply(tree: Path, mutant: Mutant) -> str:
    """The file's original text; raises if the mutant no longer matches the source."""
    path = tree / SRC / mutant.path
    original = path.read_text()
    found = original.count(mutant.old)
    if found != 1:
        raise SystemExit(f"{mutant.name}: {mutant.path} holds its text {found} times, not once")
    path.write_text(original.replace(mutant.old, mutant.new))
    return original


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--keep", action="store_true", help="keep the copy and the logs")
    args = parser.parse_args()
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    unknown = set(args.names) - {m.name for m in MUTANTS}
    if unknown:
        parser.error(f"no such mutant: {', '.join(sorted(unknown))}")
    if args.list:
        for m in MUTANTS:
            print(f"{m.name:48} {m.area:12} {m.path}")
        return 0

    work = Path(tempfile.mkdtemp(prefix="central-logger-mutants-"))
    tree = _copy_tree(work)
    survived: list[str] = []
    try:
        # The tests must pass unmutated, or a "caught" means nothing.
        targeted = tuple(sorted({t for m in chosen for t in m.tests}))
        code, seconds = _run_tests(tree, targeted, work / "baseline.log")
        print(f"baseline: {' '.join(targeted)}: exit {code} in {seconds:.0f} s", flush=True)
        if code != 0:
            print((work / "baseline.log").read_text()[-3000:])
            print("the targeted tests fail without any mutant: fix them first")
            return 2
        for mutant in chosen:
            original = _apply(tree, mutant)
            try:
                log = work / f"{mutant.name}.log"
                code, seconds = _run_tests(tree, mutant.tests, log)
            finally:
                (tree / SRC / mutant.path).write_text(original)
            verdict = {0: "SURVIVED", 1: "caught"}.get(code, f"caught (exit {code})")
            if code == 0:
                survived.append(mutant.name)
            print(f"{verdict:16} {mutant.name:48} {seconds:5.0f} s  {mutant.area}", flush=True)
        print(
            f"\n{len(chosen) - len(survived)} of {len(chosen)} mutants caught"
            + (f"; survived: {', '.join(survived)}" if survived else "")
        )
    finally:
        if args.keep:
            print(f"copy and logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
