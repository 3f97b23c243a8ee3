import { describe, expect, it } from "vitest";
import { parseTrace, shareOf } from "./trace";

describe("parseTrace", () => {
  it("reads the documented shape", () => {
    const t = parseTrace(
      {
        trace: [
          { name: "classify", duration_seconds: 1.5, input: { text: "hi" }, output: { label: "billing" }, status: "ok" },
          { name: "respond", duration_seconds: 2.5, status: "ok" },
        ],
      },
      5,
    );
    expect(t.present).toBe(true);
    expect(t.problem).toBeNull();
    expect(t.steps.map((s) => s.name)).toEqual(["classify", "respond"]);
    expect(t.steps.map((s) => s.duration)).toEqual([1.5, 2.5]);
    expect(t.steps.map((s) => s.offset)).toEqual([0, 1.5]);
    expect(t.steps[0].input).toEqual({ text: "hi" });
    expect(t.steps[0].output).toEqual({ label: "billing" });
    expect(t.total).toBe(5);
    expect(shareOf(t.steps[0], t.total)).toBeCloseTo(0.3);
  });

  it("tolerates other names and milliseconds", () => {
    const t = parseTrace({ trace: [{ step: "fetch", duration_ms: 250, result: 1 }, { tool: "llm", elapsed_seconds: "0.75" }] });
    expect(t.steps.map((s) => s.name)).toEqual(["fetch", "llm"]);
    expect(t.steps[0].duration).toBeCloseTo(0.25);
    expect(t.steps[1].duration).toBeCloseTo(0.75);
    expect(t.steps[0].output).toBe(1);
    expect(t.total).toBeCloseTo(1); // no run time: the steps' total
  });

  it("names unnamed steps and keeps steps without a duration", () => {
    const t = parseTrace({ trace: [{}, "plain string step", 42, null] });
    expect(t.steps.map((s) => s.name)).toEqual(["Step 1", "plain string step", "Step 3", "Step 4"]);
    expect(t.steps.every((s) => s.duration === null)).toBe(true);
    expect(t.total).toBeNull();
    expect(shareOf(t.steps[0], t.total)).toBeNull();
  });

  it("derives durations and offsets from timestamps", () => {
    const t = parseTrace({
      trace: [
        { name: "a", started_at: "2025-01-01T00:00:00Z", ended_at: "2025-01-01T00:00:02Z" },
        { name: "b", started_at: "2025-01-01T00:00:03Z", ended_at: "2025-01-01T00:00:04Z" },
      ],
    });
    expect(t.steps.map((s) => s.duration)).toEqual([2, 1]);
    expect(t.steps.map((s) => s.offset)).toEqual([0, 3]);
    expect(t.total).toBe(4);
  });

  it("accepts {steps: [...]} and an object of named steps", () => {
    expect(parseTrace({ trace: { steps: [{ name: "x" }] } }).steps[0].name).toBe("x");
    const named = parseTrace({ trace: { classify: { duration_seconds: 1 }, respond: { duration_seconds: 2 } } });
    expect(named.steps.map((s) => [s.name, s.duration])).toEqual([
      ["classify", 1],
      ["respond", 2],
    ]);
  });

  it("reports a malformed trace instead of failing", () => {
    const t = parseTrace({ trace: "oops" });
    expect(t.present).toBe(true);
    expect(t.steps).toEqual([]);
    expect(t.problem).toContain("a string");
    expect(parseTrace({ trace: { a: 1 } }).problem).toContain("an object");
  });

  it("treats a missing payload or trace as absent", () => {
    expect(parseTrace(undefined)).toMatchObject({ present: false, problem: null, steps: [] });
    expect(parseTrace(null)).toMatchObject({ present: false });
    expect(parseTrace({ other: 1 })).toMatchObject({ present: false });
    expect(parseTrace({ trace: null })).toMatchObject({ present: false });
    expect(parseTrace([1, 2] as never)).toMatchObject({ present: false });
  });

  it("ignores negative or non-finite durations and caps the share", () => {
    const t = parseTrace({ trace: [{ name: "a", duration_seconds: -1 }, { name: "b", duration_seconds: 10 }] }, 5);
    expect(t.steps[0].duration).toBeNull();
    expect(t.steps[1].offset).toBeNull(); // unknown because step a has no duration
    expect(shareOf(t.steps[1], t.total)).toBe(1);
  });
});
