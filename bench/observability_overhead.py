"""What the per-request observability costs: the request id, its header and the two
metric updates of `RequestContext`, around an ASGI app that answers at once, against
the same app alone. Run once as is (values in memory) and once with
PROMETHEUS_MULTIPROC_DIR set (values in the workers' shared files, as under
`serve --workers N`):

    .venv/bin/python -m bench.observability_overhead
    PROMETHEUS_MULTIPROC_DIR=$(mktemp -d) .venv/bin/python -m bench.observability_overhead
"""

from __future__ import annotations

import asyncio
import statistics
import time

from starlette.types import Message, Receive, Scope, Send

from central_logger.observability.metrics import MULTIPROCESS
from central_logger.observability.middleware import RequestContext

ROUNDS = 5
REQUESTS = 20_000


async def _bare(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(_: Message) -> None:
    return None


def _scope() -> Scope:
    return {
        "type": "http",
        "method": "GET",
        "path": "/health",
        "headers": [(b"host", b"x"), (b"x-api-key", b"k"), (b"user-agent", b"bench")],
    }


async def _per_request(app: object) -> float:
    started = time.perf_counter()
    for _ in range(REQUESTS):
        await app(_scope(), _receive, _send)  # type: ignore[operator]
    return (time.perf_counter() - started) / REQUESTS


async def main() -> None:
    wrapped = RequestContext(_bare, key_header="X-API-Key")
    bare, observed = [], []
    for _ in range(ROUNDS):  # interleaved, so drift hits both alike
        bare.append(await _per_request(_bare))
        observed.append(await _per_request(wrapped))
    extra = statistics.median(observed) - statistics.median(bare)
    print(
        f"values {'in shared files' if MULTIPROCESS else 'in memory'}: "
        f"bare app {statistics.median(bare) * 1e6:.1f} us/request, with RequestContext "
        f"{statistics.median(observed) * 1e6:.1f} us; the middleware adds {extra * 1e6:.1f} us"
    )


if __name__ == "__main__":
    asyncio.run(main())
