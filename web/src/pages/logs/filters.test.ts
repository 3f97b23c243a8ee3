import { describe, expect, it } from "vitest";
import { activeFilterCount, filtersFromSearch, filtersToParams, filtersToSearch, withFilter } from "./filters";

describe("log filters <-> URL", () => {
  it("reads every API filter from the URL", () => {
    const search = new URLSearchParams(
      "status=FAILURE&category=billing&environment=production&ticket_id=T-1&workflow_version=1.2.0" +
        "&resolution_status=resolved&from=2025-01-01T00:00:00Z&to=2025-01-02T00:00:00Z" +
        "&min_execution_time=1.5&max_execution_time=9&order=asc&page_size=100",
    );
    const f = filtersFromSearch(search);
    expect(f.values).toEqual({
      status: "FAILURE",
      category: "billing",
      environment: "production",
      ticket_id: "T-1",
      workflow_version: "1.2.0",
      resolution_status: "resolved",
      from: "2025-01-01T00:00:00Z",
      to: "2025-01-02T00:00:00Z",
      min_execution_time: "1.5",
      max_execution_time: "9",
    });
    expect(f.order).toBe("asc");
    expect(f.pageSize).toBe(100);
    expect(activeFilterCount(f)).toBe(10);
  });

  it("round-trips through the URL", () => {
    const search = new URLSearchParams("category=a%20b&status=SUCCESS&page_size=25");
    const f = filtersFromSearch(search);
    expect(filtersFromSearch(filtersToSearch(f))).toEqual(f);
    expect(filtersToSearch(f).toString()).toBe("status=SUCCESS&category=a+b&page_size=25");
  });

  it("drops invalid values and defaults", () => {
    const f = filtersFromSearch(
      new URLSearchParams("from=yesterday&min_execution_time=-3&max_execution_time=abc&order=sideways&page_size=9999&status=%20"),
    );
    expect(f.values).toEqual({});
    expect(f.order).toBe("desc");
    expect(f.pageSize).toBe(50);
    expect(filtersToSearch(f).toString()).toBe("");
  });

  it("ignores parameters that are not filters (the cursor stack)", () => {
    const f = filtersFromSearch(new URLSearchParams("after=abc&category=x"));
    expect(filtersToSearch(f).toString()).toBe("category=x");
  });

  it("builds the API query with the cursor", () => {
    const f = filtersFromSearch(new URLSearchParams("category=x"));
    expect(filtersToParams(f, null)).toEqual({ category: "x", order: "desc", page_size: 50 });
    expect(filtersToParams(f, "c2")).toEqual({ category: "x", order: "desc", page_size: 50, cursor: "c2" });
  });

  it("sets and clears one filter", () => {
    const f = filtersFromSearch(new URLSearchParams("category=x"));
    const g = withFilter(f, "status", " FAILURE ");
    expect(g.values).toEqual({ category: "x", status: "FAILURE" });
    expect(withFilter(g, "category", "").values).toEqual({ status: "FAILURE" });
    expect(f.values).toEqual({ category: "x" });
  });
});
