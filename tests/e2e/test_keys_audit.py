"""Keys and the audit trail in the dashboard; ingest-only keys refused at sign-in;
friendly pages for 403, 404 and ids that are not ids."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.support.dashboard import query, sign_in

from .seed import ADMIN_KEY, TENANT_A_KEY, Seeded


def make_key(api: httpx.Client, client_id: str, **spec: Any) -> dict[str, Any]:
    response = api.post(
        "/api/v1/admin/keys",
        json={"client_id": client_id, **spec},
        headers={"X-API-Key": ADMIN_KEY},
    )
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def me_status(api: httpx.Client, key: str) -> int:
    return api.get("/api/v1/me", headers={"X-API-Key": key}).status_code


def test_an_ingest_only_key_is_refused_at_sign_in_with_the_reason(
    page: Page, api: httpx.Client
) -> None:
    made = make_key(api, "tenant_a", scopes=["ingest"], name="shipper only")
    page.goto("/signin")
    page.get_by_label("API key").fill(made["key"])
    page.get_by_role("button", name="Sign in").click()
    message = page.get_by_test_id("signin-message")
    expect(message).to_contain_text("has only the ingest scope")
    expect(message).to_contain_text("Sign in with a key that has the read scope")
    expect(page).to_have_url(re.compile(r"/signin"))
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert made["key"] not in page.evaluate("Object.values(sessionStorage)")


def test_friendly_pages_for_what_cannot_be_shown(page: Page, seeded: Seeded) -> None:
    sign_in(page, TENANT_A_KEY, "/logs/not-a-log-id")
    expect(page.get_by_role("heading", name="That is not a log id")).to_be_visible()
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)

    page.goto(f"/logs/{seeded.b_known_id}")  # another tenant's run
    error = page.get_by_test_id("error-state")
    expect(error.get_by_role("heading", name="Not found")).to_be_visible()
    expect(error).to_contain_text("belongs to another client")
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)
    error.get_by_role("link", name="Go to the logs").click()
    expect(page).to_have_url(re.compile(r"/logs$"))

    page.goto("/audit")  # an admin page, opened by a tenant
    error = page.get_by_test_id("error-state")
    expect(error).to_contain_text("This key cannot open this page")
    expect(error).to_contain_text("admin")
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)
    expect(page.get_by_role("link", name="Audit")).to_have_count(0)  # not offered in the nav

    page.goto("/no/such/page")
    expect(page.get_by_role("heading", name="No such page")).to_be_visible()
    expect(page.get_by_role("button", name="Try again")).to_have_count(0)


def test_an_admin_creates_rotates_and_revokes_keys_and_reads_the_audit(
    page: Page, api: httpx.Client
) -> None:
    sign_in(page, ADMIN_KEY, "/keys")
    form = page.get_by_role("form", name="Create a key")
    form.get_by_label("Client").fill("tenant_a")
    form.get_by_label("Name (optional)").fill("made in the browser")
    form.get_by_label("ingest").uncheck()
    form.get_by_role("button", name="Create key").click()

    notice = page.get_by_test_id("new-key-notice")
    expect(notice).to_contain_text("only time the key is shown")
    key = page.get_by_test_id("new-key").inner_text()
    prefix = key[:11]
    me = api.get("/api/v1/me", headers={"X-API-Key": key}).json()
    assert (me["client_id"], me["scopes"]) == ("tenant_a", ["read"])
    row = page.locator(f'[data-testid="key-row"][data-prefix="{prefix}"]')
    expect(row.locator('[data-col="scopes"]')).to_have_text("read")
    expect(row.locator('[data-col="state"]')).to_have_text("Active")
    notice.get_by_role("button", name="I have stored it").click()
    expect(notice).to_have_count(0)
    assert key not in page.content()  # shown once

    # Rotate with no overlap: the successor works, the old key stops.
    row.get_by_role("button", name=f"Rotate {prefix}").click()
    row.get_by_label("Old key stops").select_option(label="at once")
    row.get_by_role("button", name="Make successor").click()
    expect(page.get_by_test_id("new-key-notice")).to_contain_text(f"{prefix}… stopped working")
    successor = page.get_by_test_id("new-key").inner_text()
    assert successor != key
    assert me_status(api, successor) == 200
    assert me_status(api, key) == 401
    page.get_by_role("button", name="I have stored it").click()

    # Revoke the successor.
    new_prefix = successor[:11]
    new_row = page.locator(f'[data-testid="key-row"][data-prefix="{new_prefix}"]')
    new_row.get_by_role("button", name=f"Revoke {new_prefix}").click()
    new_row.get_by_role("button", name="Yes, revoke").click()
    expect(new_row.locator('[data-col="state"]')).to_have_text("Revoked")
    assert me_status(api, successor) == 401

    # The audit trail, filtered in the page and kept in the URL.
    page.get_by_role("link", name="Audit").click()
    page.get_by_label("Kind").select_option(label="Keys revoked")
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"kind=key_revoked"))
    rows = page.get_by_test_id("audit-row")
    expect(rows.first).to_be_visible()
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.kind)")) == {"key_revoked"}
    expect(page.get_by_test_id("audit-table")).to_contain_text(new_prefix)
    admin_prefix = api.get("/api/v1/me", headers={"X-API-Key": ADMIN_KEY}).json()["key_prefix"]
    page.get_by_label("Actor (key prefix or cli)").fill(admin_prefix)
    page.get_by_role("button", name="Apply filters").click()
    expect(page).to_have_url(re.compile(r"actor="))
    assert query(page)["actor"] == [admin_prefix]
    expect(rows.first).to_be_visible()
    assert set(rows.locator('[data-col="actor"]').all_inner_texts()) == {admin_prefix}
    page.reload()
    assert query(page)["kind"] == ["key_revoked"]
    expect(page.get_by_label("Kind")).to_have_value("key_revoked")
    # The admin's client narrows the trail too.
    page.get_by_test_id("client-picker").select_option("tenant_b")
    expect(page.get_by_text("No events match")).to_be_visible()


def test_a_tenant_sees_its_own_keys_and_nothing_to_change(page: Page, api: httpx.Client) -> None:
    mine = make_key(api, "tenant_a", scopes=["ingest"], name="a's shipper")
    theirs = make_key(api, "tenant_b", name="b's key")
    sign_in(page, TENANT_A_KEY, "/keys")
    table = page.get_by_test_id("keys-table")
    row = table.locator(f'[data-testid="key-row"][data-prefix="{mine["prefix"]}"]')
    expect(row).to_contain_text("a's shipper")
    expect(row.locator('[data-col="scopes"]')).to_have_text("ingest")
    expect(row.locator('[data-col="last-used"]')).to_have_text("never")
    expect(table).not_to_contain_text(theirs["prefix"])
    expect(table).not_to_contain_text("b's key")
    expect(page.get_by_role("button", name=re.compile("Rotate|Revoke|Create key"))).to_have_count(0)
    assert mine["key"] not in page.content()
