"""`central-logger demo` fills several clients, each with data of its own kind."""

from __future__ import annotations

import httpx

from tests.support.api import run_cli
from tests.support.tenants import ADMIN_KEY, auth


async def test_demo_fills_several_clients_with_different_data(
    client: httpx.AsyncClient, empty_database: str
) -> None:
    code, _, err = await run_cli(empty_database, "demo", "--logs-per-client", "200", "--days", "7")
    assert code == 0, err
    clients = (await client.get("/api/v1/clients", headers=auth(ADMIN_KEY))).json()["items"]
    names = {c["client_id"] for c in clients}
    assert names >= {"demo", "acme", "globex", "initech"}

    seen: dict[str, tuple[int, frozenset[str], float | None]] = {}
    for name in ("demo", "acme", "globex", "initech"):
        overview = (
            await client.get(
                "/api/v1/metrics/overview",
                params={"days": 8, "client_id": name},
                headers=auth(ADMIN_KEY),
            )
        ).json()
        categories = (
            await client.get(
                "/api/v1/metrics/categories",
                params={"days": 8, "client_id": name},
                headers=auth(ADMIN_KEY),
            )
        ).json()["categories"]
        assert overview["total_runs"] > 0, name
        seen[name] = (
            overview["total_runs"],
            frozenset(c["category"] for c in categories),
            overview["p50_execution_time_seconds"],
        )
    # No two clients share their categories: each has a business of its own.
    category_sets = [cats for _, cats, _ in seen.values()]
    assert len(set(category_sets)) == len(category_sets), seen
    assert all(not (a & b) for i, a in enumerate(category_sets) for b in category_sets[i + 1 :])
    # Volumes and latencies differ too.
    assert len({runs for runs, _, _ in seen.values()}) > 1, seen
    assert len({p50 for _, _, p50 in seen.values()}) > 1, seen

    code, out, err = await run_cli(
        empty_database, "demo", "--logs-per-client", "200", "--days", "7"
    )
    assert code == 0, err
    assert out.startswith("stored 0 sample logs"), out
