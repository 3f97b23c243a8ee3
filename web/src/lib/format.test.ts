import { describe, expect, it } from "vitest";
import { exactUtc, formatBucket, formatCount, formatDuration, formatPercent, isoToLocalInput, localInputToIso } from "./format";

describe("formatCount", () => {
  it("groups thousands", () => expect(formatCount(1234567)).toBe("1,234,567"));
  it("shows a dash for missing values", () => {
    expect(formatCount(null)).toBe("—");
    expect(formatCount(undefined)).toBe("—");
    expect(formatCount(Number.NaN)).toBe("—");
  });
  it("keeps zero", () => expect(formatCount(0)).toBe("0"));
});

describe("formatPercent", () => {
  it("turns a fraction into a percentage", () => {
    expect(formatPercent(0.8)).toBe("80.0%");
    expect(formatPercent(1)).toBe("100.0%");
    expect(formatPercent(0.83333)).toBe("83.3%");
    expect(formatPercent(0)).toBe("0.0%");
  });
  it("shows a dash for null (no runs)", () => expect(formatPercent(null)).toBe("—"));
});

describe("formatDuration", () => {
  it.each([
    [0, "0 s"],
    [0.0042, "4.2 ms"],
    [0.25, "250 ms"],
    [1, "1.00 s"],
    [5.2, "5.20 s"],
    [59.994, "59.99 s"],
    [60, "1 min"],
    [125, "2 min 5 s"],
    [3600, "1 h"],
    [5400, "1 h 30 min"],
  ])("%s seconds -> %s", (s, expected) => expect(formatDuration(s)).toBe(expected));
  it("rejects negatives and missing values", () => {
    expect(formatDuration(-1)).toBe("—");
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe("—");
  });
});

describe("exactUtc", () => {
  it("keeps a UTC value's full precision", () => {
    expect(exactUtc("2025-12-24T10:30:00.123456Z")).toBe("2025-12-24T10:30:00.123456Z");
    expect(exactUtc("2025-12-24T10:30:00+00:00")).toBe("2025-12-24T10:30:00Z");
  });
  it("converts other zones to UTC", () => {
    expect(exactUtc("2025-12-24T12:30:00+02:00")).toBe("2025-12-24T10:30:00.000Z");
  });
  it("handles missing values", () => expect(exactUtc(null)).toBe("—"));
});

describe("datetime-local round trip", () => {
  it("converts a local wall time to UTC and back", () => {
    const iso = localInputToIso("2025-03-01T09:15");
    expect(iso).toMatch(/Z$/);
    expect(isoToLocalInput(iso)).toBe("2025-03-01T09:15");
  });
  it("treats empty or invalid input as no value", () => {
    expect(localInputToIso("")).toBeNull();
    expect(localInputToIso("nonsense")).toBeNull();
    expect(isoToLocalInput("nonsense")).toBe("");
  });
});

describe("formatBucket", () => {
  it("labels a daily bucket with its UTC day whatever the browser's zone", () => {
    expect(formatBucket("2025-03-01T00:00:00Z", "day")).toMatch(/Mar.*\b1\b|\b1\b.*Mar/);
  });
  it("keeps an unparseable start as is", () => expect(formatBucket("soon", "hour")).toBe("soon"));
});
