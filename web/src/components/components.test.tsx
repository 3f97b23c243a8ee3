import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { JsonViewer } from "./JsonViewer";
import { RangeControls } from "./RangeControls";
import { statusTone } from "./StatusBadge";
import { Time } from "./Time";
import { categoryLink } from "../pages/categories/CategoriesPage";

afterEach(cleanup);

describe("JsonViewer", () => {
  it("renders nested values with a copy button", () => {
    render(<JsonViewer title="Metrics" value={{ confidence: 0.95, tags: ["a", "b"], nested: { ok: true, none: null } }} />);
    expect(screen.getByText("confidence:")).toBeTruthy();
    expect(screen.getByText("0.95")).toBeTruthy();
    expect(screen.getByText('"a"')).toBeTruthy();
    expect(screen.getByText("true")).toBeTruthy();
    expect(screen.getByText("null")).toBeTruthy();
    expect(screen.getByRole("button", { name: "Copy JSON" })).toBeTruthy();
  });

  it("shows the empty message for nothing recorded", () => {
    render(<JsonViewer title="Payload" value={undefined} empty="No payload recorded." />);
    expect(screen.getByText("No payload recorded.")).toBeTruthy();
    expect(screen.queryByRole("button")).toBeNull();
  });
});

describe("Time", () => {
  it("shows the exact UTC value in the tooltip", () => {
    render(<Time iso="2025-12-24T10:30:00.123456+00:00" />);
    const el = screen.getByTitle("2025-12-24T10:30:00.123456Z (UTC)");
    expect(el.getAttribute("datetime")).toBe("2025-12-24T10:30:00.123456Z");
  });
});

describe("RangeControls", () => {
  it("switches presets and environment", () => {
    const onChange = vi.fn();
    const state = { range: "7d" as const, from: null, to: null, environment: null };
    render(<RangeControls state={state} onChange={onChange} environments={["production", "staging"]} />);
    fireEvent.click(screen.getByRole("radio", { name: "24 h" }));
    expect(onChange).toHaveBeenLastCalledWith({ ...state, range: "24h" });
    fireEvent.change(screen.getByTestId("environment-filter"), { target: { value: "staging" } });
    expect(onChange).toHaveBeenLastCalledWith({ ...state, environment: "staging" });
    expect(screen.getByRole("radio", { name: "7 d" }).getAttribute("aria-checked")).toBe("true");
  });
});

describe("statusTone and categoryLink", () => {
  it("colours statuses", () => {
    expect(statusTone("SUCCESS")).toBe("ok");
    expect(statusTone("FAILURE")).toBe("bad");
    expect(statusTone("PARTIAL")).toBe("warn");
    expect(statusTone("")).toBe("neutral");
  });
  it("links categories to the filtered Logs page, except the uncategorized bucket", () => {
    expect(categoryLink("billing issue")).toBe("/logs?category=billing%20issue");
    expect(categoryLink("uncategorized")).toBeNull();
    const range = { from: "2026-01-01T00:00:00Z", to: "2026-01-08T00:00:00Z" };
    const link = new URL(categoryLink("billing", range, "staging")!, "http://x");
    expect(Object.fromEntries(link.searchParams)).toEqual({ category: "billing", ...range, environment: "staging" });
  });
});
