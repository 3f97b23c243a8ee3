"""The tenants and keys the API suite's app is configured with (tests/api/conftest.py)."""

from __future__ import annotations

TENANT_A_KEY = "key_tenant_a"
TENANT_B_KEY = "key_tenant_b"
ADMIN_KEY = "key_admin"
TENANT_A = "tenant_a"
TENANT_B = "tenant_b"


def auth(key: str) -> dict[str, str]:
    return {"X-API-Key": key}
