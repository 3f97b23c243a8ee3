import { describe, expect, it } from "vitest";
import { safeNext } from "./SignInPage";

describe("safeNext", () => {
  it("follows in-app paths only", () => {
    expect(safeNext("/logs?status=FAILURE")).toBe("/logs?status=FAILURE");
    expect(safeNext(null)).toBe("/");
    expect(safeNext("https://evil.example")).toBe("/");
    expect(safeNext("//evil.example")).toBe("/");
    expect(safeNext("/signin")).toBe("/");
  });
});

describe("loaderFor", () => {
  it("maps a path to the page to preload", async () => {
    const { loaderFor } = await import("../../App");
    expect(loaderFor("/")).toBe("overview");
    expect(loaderFor("/logs")).toBe("logs");
    expect(loaderFor("/logs/abc")).toBe("detail");
    expect(loaderFor("/categories")).toBe("categories");
    expect(loaderFor("/signin")).toBeNull();
  });
});
