import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import type { ApiKeyInfo, Me } from "../api/types";
import { refusal } from "../auth/AuthContext";
import { explain } from "../components/States";
import { auditParams } from "../pages/audit/AuditPage";
import { keyState } from "../pages/keys/keyState";
import { refreshFromSearch } from "./refresh";

const me = (scopes: Me["scopes"]): Me => ({ client_id: "acme", is_admin: false, scopes, key_prefix: "cl_12345678" });

describe("sign-in refusal", () => {
  it("refuses a key without read, saying why and what to do", () => {
    expect(refusal(me(["ingest", "read"]))).toBeNull();
    const why = refusal(me(["ingest"]))!;
    expect(why).toContain("only the ingest scope");
    expect(why).toContain("--client-id acme --scopes ingest,read");
  });
});

describe("explain", () => {
  it("offers Try again only where it can help", () => {
    expect(explain(new ApiError(403, "Forbidden", "This API key lacks the 'admin' scope")).retry).toBe(false);
    expect(explain(new ApiError(404, "Not Found", null)).retry).toBe(false);
    expect(explain(new ApiError(422, "Unprocessable", "bad id")).retry).toBe(false);
    expect(explain(new ApiError(503, "Unavailable", null)).retry).toBe(true);
    expect(explain(new ApiError(0, "Network error", null)).retry).toBe(true);
    expect(explain(new ApiError(429, "Too Many Requests", null)).retry).toBe(true);
  });
});

describe("URL readers", () => {
  it("reads the refresh interval, ignoring unknown values", () => {
    expect(refreshFromSearch(new URLSearchParams("refresh=30s")).ms).toBe(30_000);
    expect(refreshFromSearch(new URLSearchParams("refresh=5m")).ms).toBe(300_000);
    expect(refreshFromSearch(new URLSearchParams("refresh=2s")).ms).toBe(false);
    expect(refreshFromSearch(new URLSearchParams("")).ms).toBe(false);
  });
  it("reads the audit filters, dropping invalid ones", () => {
    expect(auditParams(new URLSearchParams("kind=key_created&limit=500&actor=cli"))).toEqual({
      kind: "key_created",
      since: "",
      actor: "cli",
      limit: 500,
    });
    expect(auditParams(new URLSearchParams("kind=nope&since=yesterday&limit=7"))).toEqual({
      kind: "",
      since: "",
      actor: "",
      limit: 100,
    });
  });
});

describe("keyState", () => {
  const base: ApiKeyInfo = {
    prefix: "cl_12345678",
    client_id: "acme",
    name: null,
    scopes: ["read"],
    is_admin: false,
    created_at: "2026-01-01T00:00:00Z",
    last_used_at: null,
    expires_at: null,
    revoked_at: null,
  };
  it("tells active, expiring, expired and revoked apart", () => {
    const now = Date.parse("2026-06-01T00:00:00Z");
    expect(keyState(base, now)).toBe("active");
    expect(keyState({ ...base, expires_at: "2026-06-02T00:00:00Z" }, now)).toBe("expiring");
    expect(keyState({ ...base, expires_at: "2026-05-01T00:00:00Z" }, now)).toBe("expired");
    expect(keyState({ ...base, revoked_at: "2026-05-01T00:00:00Z" }, now)).toBe("revoked");
  });
});
