import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, apiGet, buildUrl, setUnauthorizedHandler } from "./client";

afterEach(() => {
  vi.unstubAllGlobals();
  setUnauthorizedHandler(null);
});

function problem(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/problem+json" } });
}

describe("buildUrl", () => {
  it("drops empty values and sorts keys", () => {
    expect(buildUrl("/api/v1/logs", { status: "FAILURE", category: "", page_size: 50, cursor: null, x: undefined })).toBe(
      "/api/v1/logs?page_size=50&status=FAILURE",
    );
    expect(buildUrl("/api/v1/me")).toBe("/api/v1/me");
  });
  it("encodes values", () => expect(buildUrl("/x", { category: "a&b c" })).toBe("/x?category=a%26b+c"));
});

describe("apiGet", () => {
  it("sends the key in X-API-Key", async () => {
    const fetchMock = vi.fn().mockResolvedValue(new Response('{"ok":true}', { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    await expect(apiGet("/api/v1/me", {}, { key: "k1" })).resolves.toEqual({ ok: true });
    expect(fetchMock.mock.calls[0][1].headers["X-API-Key"]).toBe("k1");
  });

  it("turns a problem document into an ApiError and calls the 401 handler", async () => {
    vi.stubGlobal("fetch", vi.fn().mockResolvedValue(problem(401, { title: "Unauthorized", status: 401, detail: "unknown API key" })));
    const seen: ApiError[] = [];
    setUnauthorizedHandler((e) => seen.push(e));
    const error = await apiGet("/api/v1/logs", {}, { key: "bad" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect((error as ApiError).detail).toBe("unknown API key");
    expect(seen).toHaveLength(1);
  });

  it("does not call the 401 handler when silent", async () => {
    vi.stubGlobal("fetch", vi.fn().mockResolvedValue(problem(401, { title: "Unauthorized", detail: "nope" })));
    const handler = vi.fn();
    setUnauthorizedHandler(handler);
    await expect(apiGet("/api/v1/me", {}, { key: "bad", silent401: true })).rejects.toBeInstanceOf(ApiError);
    expect(handler).not.toHaveBeenCalled();
  });

  it("keeps field errors of a 422", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn().mockResolvedValue(
        problem(422, { title: "Unprocessable Content", detail: "1 field is invalid", errors: [{ field: "query.page_size", reason: "too big" }] }),
      ),
    );
    const error = await apiGet("/api/v1/logs", {}, { key: "k" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(422);
    expect((error as ApiError).errors).toEqual([{ field: "query.page_size", reason: "too big" }]);
  });

  it("reports a network failure as status 0", async () => {
    vi.stubGlobal("fetch", vi.fn().mockRejectedValue(new TypeError("Failed to fetch")));
    const error = await apiGet("/x", {}, { key: "k" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(0);
  });

  it("survives a non-JSON error body", async () => {
    vi.stubGlobal("fetch", vi.fn().mockResolvedValue(new Response("<html>bad gateway</html>", { status: 502, statusText: "Bad Gateway" })));
    const error = await apiGet("/x", {}, { key: "k" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(502);
    expect((error as ApiError).title).toBe("Bad Gateway");
  });
});
