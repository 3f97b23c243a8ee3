"""CPU per hostile request body, at the 5 MB limit: the time one body holds the event
loop in reading (parse and every check) and in turning its items into rows, with the
answer each gets. `python -m bench.hostile_bodies [--repeat 3]`.

Each shape puts its bad part at the very end, behind the most Python objects a 5 MB
body can make, so a check that walks the parsed value pays for all of them."""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import orjson
from starlette.requests import Request

from central_logger.http.body import read_json

try:
    from central_logger.http.json_checks import JsonLimits
except ImportError:  # before the checks were bounded: the same bench measures the old code
    from central_logger.http.body import JsonLimits  # type: ignore[attr-defined,no-redef]
from central_logger.http.problems import ProblemError
from central_logger.logs.preparation import batch_items
from central_logger.logs.validation import to_row

LIMIT = 5 * 1024 * 1024
LOG_HEAD = orjson.dumps(
    {
        "environment": "production",
        "executed_at": datetime.now(UTC).isoformat(),
        "status": "SUCCESS",
        "category": "billing",
    }
)[:-1]

# Filler units: the most objects, or the most work for one check, per byte.
FILLERS: dict[str, bytes] = {
    "tiny-arrays": b"[0],",
    "nested-arrays": b"[[[[1,2]]]],",
    "issue-80k-arrays": b"[[1,2,3],[4,5,6],[7,8,9],[10,11,12],[13,14,15],[16]],",
    "short-strings": b'"a",',
    "tiny-objects": b'{"a": 0}, ',
    "numbers": b"0,",
}
# Bad parts, each the last thing in the body.
ENDINGS: dict[str, bytes] = {
    "nul": b'"x\\u0000"',
    "long-string": b'"' + b"y" * 70_000 + b'"',
    "duplicate-key": b'{"x": 1, "x": 2}',
    "clean": b'"ok"',
}


def single_log(filler: bytes, ending: bytes, size: int) -> bytes:
    head = LOG_HEAD + b',"payload":{"a":['
    tail = b'],"note":' + ending + b"}}"
    count = (size - len(head) - len(tail)) // len(filler)
    return head + filler * count + b"0" + tail


def deep_wide(ending: bytes, size: int, depth: int = 28) -> bytes:
    """A chain `depth` levels deep, each level a wide array of numbers: the bad part sits
    at the bottom, under every level's width."""
    head = LOG_HEAD + b',"payload":{"a":'
    width = (size - len(head) - 2 * depth - len(ending) - 16) // (depth * 2)
    body = head + b"[" + b"0," * width
    for _ in range(depth - 1):
        body += b"[" + b"0," * width
    return body + ending + b"]" * depth + b"}}"


def many_keys(ending: bytes, size: int) -> bytes:
    head = LOG_HEAD + b',"payload":{'
    count = (size - len(head) - len(ending) - 16) // 13
    keys = b"".join(b'"k%07d":0,' % i for i in range(count))
    return head + keys + b'"note":' + ending + b"}}"


def batch(filler: bytes, ending: bytes, items: int = 1000, *, size: int) -> bytes:
    per_item = (size - len(ending)) // items - 8
    logs = [single_log(filler, b'"ok"', per_item)] * (items - 1)
    logs.append(single_log(filler, ending, per_item))
    return b'{"logs":[' + b",".join(logs) + b"]}"


def bodies(size: int) -> dict[str, Callable[[], bytes]]:
    shapes: dict[str, Callable[[], bytes]] = {}
    for ending_name, ending in ENDINGS.items():
        for filler_name, filler in FILLERS.items():
            shapes[f"{filler_name}/{ending_name}"] = partial(single_log, filler, ending, size)
        shapes[f"deep-wide/{ending_name}"] = partial(deep_wide, ending, size)
        shapes[f"many-keys/{ending_name}"] = partial(many_keys, ending, size)
        shapes[f"batch-tiny-arrays/{ending_name}"] = partial(batch, b"[0],", ending, size=size)
    return shapes


_COUNTED = b"[{,:"


def _values(body: bytes) -> int:
    """Values and keys, as the limit counts them: openers, commas and colons outside
    strings (counted in the compact form)."""
    compact = orjson.dumps(orjson.loads(body))
    parts = compact.replace(b"\\\\", b"").replace(b'\\"', b"").split(b'"')[::2]
    return sum(part.count(bytes([c])) for part in parts for c in _COUNTED) + 1


def _fit(name: str, max_values: int) -> bytes:
    """The largest body of this shape (to 5 MB) with at most `max_values` values."""
    low, high = 1_000, LIMIT - 200
    if _values(bodies(high)[name]()) <= max_values:
        return bodies(high)[name]()
    while high - low > 4_000:
        middle = (low + high) // 2
        if _values(bodies(middle)[name]()) <= max_values:
            low = middle
        else:
            high = middle
    return bodies(low)[name]()


def _request(body: bytes, path: str) -> Request:
    chunks = [body[i : i + 65_536] for i in range(0, len(body), 65_536)] or [b""]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": [(b"content-type", b"application/json")],
    }
    return Request(scope, receive)


def measure(body: bytes, limits: JsonLimits) -> tuple[float, float, str]:
    """(ms reading, ms making rows, the answer)."""
    is_batch = body.startswith(b'{"logs"')
    started = time.perf_counter()
    try:
        parsed = asyncio.run(read_json(_request(body, "/"), max_bytes=LIMIT, limits=limits))
    except ProblemError as exc:
        read_ms = (time.perf_counter() - started) * 1000
        return read_ms, 0.0, f"{exc.status} {exc.errors[0].field if exc.errors else ''}"
    read_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    items = batch_items(parsed.value, max_batch_size=1000) if is_batch else [parsed.value]
    answers = []
    for index, item in enumerate(items):
        row = to_row(item, check_nul=parsed.may_contain_nul, max_future=timedelta(hours=1))
        if isinstance(row, list):
            answers.append(f"{index}:{row[0].field}")
    rows_ms = (time.perf_counter() - started) * 1000
    answer = ("422 " + " ".join(answers[:2])) if answers else "ok"
    return read_ms, rows_ms, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", default="", help="substring of the shapes to run")
    parser.add_argument(
        "--at-limit",
        action="store_true",
        help="each body as large as the value limit allows, not 5 MB",
    )
    parser.add_argument(
        "--max-values",
        type=int,
        default=getattr(JsonLimits(), "max_values", 250_000),
        help="the value limit (a large one measures every check on whole 5 MB bodies)",
    )
    args = parser.parse_args()
    print(f"{'body':34} {'MB':>5} {'values':>8} {'read ms':>8} {'rows ms':>8} {'total':>7}  answer")
    try:
        limits = JsonLimits(max_values=args.max_values)  # type: ignore[call-arg]
    except TypeError:
        limits = JsonLimits()  # the old code had no value limit
    for name in bodies(LIMIT):
        if args.only not in name:
            continue
        body = _fit(name, args.max_values) if args.at_limit else bodies(LIMIT - 200)[name]()
        runs = []
        for _ in range(args.repeat):
            runs.append(measure(body, limits))
            gc.collect()
        read_ms = statistics.median(r[0] for r in runs)
        rows_ms = statistics.median(r[1] for r in runs)
        print(
            f"{name:34} {len(body) / 1e6:5.2f} {_values(body):8} {read_ms:8.0f} {rows_ms:8.0f}"
            f" {read_ms + rows_ms:7.0f}  {runs[0][2]}",
            flush=True,
        )


if __name__ == "__main__":
    main()
