import { describe, expect, it } from "vitest";
import { rangeFromSearch, rangeToParams, rangeToSearch } from "./range";

describe("range <-> URL", () => {
  it("defaults to 7 days", () => {
    const state = rangeFromSearch(new URLSearchParams());
    expect(state).toEqual({ range: "7d", from: null, to: null, environment: null });
    expect(rangeToParams(state)).toEqual({ days: 7 });
    expect(rangeToSearch(state).toString()).toBe("");
  });
  it("maps presets to days", () => {
    expect(rangeToParams(rangeFromSearch(new URLSearchParams("range=24h")))).toEqual({ days: 1 });
    expect(rangeToParams(rangeFromSearch(new URLSearchParams("range=30d&environment=prod")))).toEqual({
      days: 30,
      environment: "prod",
    });
  });
  it("ignores an unknown preset", () => {
    expect(rangeFromSearch(new URLSearchParams("range=1y")).range).toBe("7d");
  });
  it("keeps a custom range", () => {
    const search = new URLSearchParams("range=custom&from=2025-01-01T00:00:00.000Z&to=2025-01-02T00:00:00.000Z");
    const state = rangeFromSearch(search);
    expect(rangeToParams(state)).toEqual({ from: "2025-01-01T00:00:00.000Z", to: "2025-01-02T00:00:00.000Z" });
    expect(rangeFromSearch(rangeToSearch(state))).toEqual(state);
  });
  it("drops from/to for presets", () => {
    const search = rangeToSearch({ range: "24h", from: "2025-01-01T00:00:00Z", to: null, environment: null });
    expect(search.toString()).toBe("range=24h");
  });
});
