import { describe, expect, it } from "vitest";
import { carry, withCarried } from "./links";

describe("carried parameters", () => {
  it("adds the admin's client to app links unless the link sets one", () => {
    const current = new URLSearchParams("client=acme&status=FAILURE");
    expect(carry("/logs", current)).toBe("/logs?client=acme");
    expect(carry("/logs?status=ERROR", current)).toBe("/logs?status=ERROR&client=acme");
    expect(carry("/logs?client=other", current)).toBe("/logs?client=other");
    expect(carry("/logs", new URLSearchParams())).toBe("/logs");
  });
  it("keeps the client when a page rewrites its own query", () => {
    const next = withCarried(new URLSearchParams("range=30d"), new URLSearchParams("client=acme&range=7d"));
    expect(next.toString()).toBe("range=30d&client=acme");
  });
});
