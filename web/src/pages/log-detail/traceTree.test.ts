import { describe, expect, it } from "vitest";
import { parseTrace } from "./trace";
import { buildTree, parentKeys, visibleRows } from "./traceTree";

const at = (ms: number) => new Date(Date.UTC(2026, 10, 30, 10, 0, 0, ms)).toISOString();

// A run of 10 s: classify (0-6 s) holds call_model (1-4 s) and parse (4-5 s),
// respond (6-9 s) is a sibling; an orphan names a parent that is not a step.
const otel = {
  trace: [
    { name: "classify", span_id: "a1", parent_span_id: "root", started_at: at(0), duration_seconds: 6 },
    { name: "call_model", span_id: "b1", parent_span_id: "a1", started_at: at(1000), duration_seconds: 3 },
    { name: "parse", span_id: "b2", parent_span_id: "a1", started_at: at(4000), duration_seconds: 1 },
    { name: "respond", span_id: "a2", parent_span_id: "root", started_at: at(6000), duration_seconds: 3 },
    { name: "orphan", span_id: "c1", parent_span_id: "gone", started_at: at(9000), duration_seconds: 1 },
  ],
};

describe("buildTree", () => {
  it("nests steps under their parent and keeps the stored order", () => {
    const tree = buildTree(parseTrace(otel, 10));
    expect(tree.roots.map((n) => n.step.name)).toEqual(["classify", "respond", "orphan"]);
    expect(tree.roots[0].children.map((n) => n.step.name)).toEqual(["call_model", "parse"]);
    expect(tree.maxDepth).toBe(1);
    expect(visibleRows(tree, new Set()).map((n) => [n.step.name, n.depth])).toEqual([
      ["classify", 0],
      ["call_model", 1],
      ["parse", 1],
      ["respond", 0],
      ["orphan", 0],
    ]);
  });

  it("computes self time from the children's union, and shares that sum honestly", () => {
    const tree = buildTree(parseTrace(otel, 10));
    const classify = tree.roots[0];
    // Children cover 1-5 s of classify's 0-6 s: 2 s are its own.
    expect(classify.self).toBeCloseTo(2);
    expect(classify.share).toBeCloseTo(0.6);
    const rows = visibleRows(tree, new Set());
    const selfShares = rows.reduce((sum, n) => sum + (n.selfShare ?? 0), 0);
    expect(selfShares).toBeLessThanOrEqual(1);
    // Children that overlap (parallel work) are counted once in their parent's self time.
    const parallel = structuredClone(otel);
    parallel.trace[2].started_at = at(3000);
    parallel.trace[2].duration_seconds = 2;
    expect(buildTree(parseTrace(parallel, 10)).roots[0].self).toBeCloseTo(2);
    // Top-level shares of a sequential run sum to the run, not past it.
    const topShares = tree.roots.reduce((sum, n) => sum + (n.share ?? 0), 0);
    expect(topShares).toBeCloseTo(1);
  });

  it("collapses a step's children and lists every parent for collapse-all", () => {
    const tree = buildTree(parseTrace(otel, 10));
    expect(visibleRows(tree, new Set(["a1"])).map((n) => n.step.name)).toEqual(["classify", "respond", "orphan"]);
    expect(parentKeys(tree)).toEqual(["a1"]);
  });

  it("nests JSON logs by `id` and `parent`, and breaks a cycle", () => {
    const json = {
      trace: [
        { id: "x", parent: "y", name: "x", duration_seconds: 1 },
        { id: "y", parent: "x", name: "y", duration_seconds: 1 },
        { id: "z", parent: "x", name: "z", duration_seconds: 0.5 },
      ],
    };
    const tree = buildTree(parseTrace(json, 3));
    const rows = visibleRows(tree, new Set());
    expect(rows).toHaveLength(3);
    expect(rows.map((n) => n.step.name)).toEqual(["y", "x", "z"]);
  });

  it("builds 5,000 steps and shows only the expanded ones", () => {
    const steps = Array.from({ length: 5000 }, (_, i) => ({
      name: `step-${i}`,
      span_id: `s${i}`,
      parent_span_id: i === 0 ? null : `s${Math.floor((i - 1) / 10)}`,
      started_at: at(i),
      duration_seconds: 0.001,
    }));
    const tree = buildTree(parseTrace({ trace: steps }, 10));
    expect(tree.roots).toHaveLength(1);
    expect(visibleRows(tree, new Set()).length).toBe(5000);
    expect(visibleRows(tree, new Set(["s0"])).length).toBe(1);
  });
});
