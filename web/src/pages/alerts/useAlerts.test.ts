import { describe, expect, it } from "vitest";
import { dashboardPath, describeCondition, formatWindow } from "./useAlerts";

describe("alert rule text", () => {
  it("says each kind's condition", () => {
    const base = { threshold: 20, min_runs: 5, percentile: null, status: null };
    expect(describeCondition({ ...base, kind: "failure_rate" })).toBe("failure rate ≥ 20% (min 5 runs)");
    expect(describeCondition({ ...base, kind: "latency", threshold: 3, min_runs: 1, percentile: "p99" })).toBe("p99 > 3 s");
    expect(describeCondition({ ...base, kind: "count", threshold: 10, status: "FAILURE" })).toBe("FAILURE runs > 10");
    expect(describeCondition({ ...base, kind: "no_runs", threshold: null })).toBe("no runs");
  });

  it("writes windows in their largest whole unit", () => {
    expect(formatWindow(900)).toBe("15 min");
    expect(formatWindow(7200)).toBe("2 h");
    expect(formatWindow(86_400)).toBe("1 d");
    expect(formatWindow(90)).toBe("90 s");
  });

  it("keeps a notification's link inside this dashboard", () => {
    expect(dashboardPath("https://logs.example.com/logs?client=a&status=FAILURE")).toBe("/logs?client=a&status=FAILURE");
    expect(dashboardPath("not a url")).toBe("/logs");
  });
});
