import type { Json, JsonObject } from "../../api/types";
import type { ParsedTrace, TraceStep } from "./trace";

/**
 * The steps of a trace as a tree: a step nests under the step its parent id names
 * (`parent_span_id` from OpenTelemetry, or `parent` / `parent_id` in a JSON log, naming
 * another step's `span_id` or `id`). A step whose parent is not a step of the trace (the
 * run's own span, or a parent never sent) is a top-level step. Order: as stored (start
 * time, then parent before child), children in that order under their parent.
 */
export interface TreeNode {
  step: TraceStep;
  key: string;
  depth: number;
  children: TreeNode[];
  /** Seconds: the step's own time, not covered by any of its children. */
  self: number | null;
  /** 0-1 of the run, for the step with its children. */
  share: number | null;
  /** 0-1 of the run, the step's self time: these sum to at most 1 over the whole tree. */
  selfShare: number | null;
}

export interface TraceTree {
  roots: TreeNode[];
  size: number;
  maxDepth: number;
}

const ID_KEYS = ["span_id", "id", "step_id"];
const PARENT_KEYS = ["parent_span_id", "parent", "parent_id"];

function isObject(value: Json): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function idOf(raw: Json, keys: string[]): string | null {
  if (!isObject(raw)) return null;
  for (const k of keys) {
    const v = raw[k];
    if (typeof v === "string" && v) return v;
    if (typeof v === "number") return String(v);
  }
  return null;
}

/** Length of the union of [start, end) intervals, clipped to [low, high). */
function covered(intervals: [number, number][], low: number, high: number): number {
  const clipped = intervals
    .map(([a, b]) => [Math.max(a, low), Math.min(b, high)] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [a, b] of clipped) {
    if (a >= end) {
      total += b - a;
      end = b;
    } else if (b > end) {
      total += b - end;
      end = b;
    }
  }
  return total;
}

function selfTime(node: TreeNode): number | null {
  const own = node.step.duration;
  if (own === null) return null;
  if (!node.children.length) return own;
  const start = node.step.offset;
  const timed = node.children.filter((c) => c.step.duration !== null);
  if (start !== null && timed.every((c) => c.step.offset !== null)) {
    const spans = timed.map((c) => [c.step.offset as number, (c.step.offset as number) + (c.step.duration as number)] as [number, number]);
    return Math.max(0, own - covered(spans, start, start + own));
  }
  return Math.max(0, own - timed.reduce((sum, c) => sum + (c.step.duration as number), 0));
}

export function buildTree(trace: ParsedTrace): TraceTree {
  const nodes: TreeNode[] = trace.steps.map((step) => ({
    step,
    key: idOf(step.raw, ID_KEYS) ?? `#${step.index}`,
    depth: 0,
    children: [],
    self: null,
    share: null,
    selfShare: null,
  }));
  const byKey = new Map<string, TreeNode>();
  for (const node of nodes) {
    if (byKey.has(node.key)) node.key = `${node.key}#${node.step.index}`; // a repeated id
    else byKey.set(node.key, node);
  }
  const parentOf = new Map<TreeNode, TreeNode>();
  for (const node of nodes) {
    const parentKey = idOf(node.step.raw, PARENT_KEYS);
    const parent = parentKey !== null ? byKey.get(parentKey) : undefined;
    if (!parent || parent === node) continue;
    // A parent chain that comes back to this step is a cycle: the step stays top-level.
    let up: TreeNode | undefined = parent;
    let cycle = false;
    while (up) {
      if (up === node) {
        cycle = true;
        break;
      }
      up = parentOf.get(up);
    }
    if (!cycle) parentOf.set(node, parent);
  }
  const roots: TreeNode[] = [];
  for (const node of nodes) {
    const parent = parentOf.get(node);
    if (parent) parent.children.push(node);
    else roots.push(node);
  }
  let maxDepth = 0;
  const stack = roots.map((n) => [n, 0] as [TreeNode, number]);
  while (stack.length) {
    const [node, depth] = stack.pop() as [TreeNode, number];
    node.depth = depth;
    maxDepth = Math.max(maxDepth, depth);
    node.self = selfTime(node);
    if (trace.total) {
      node.share = node.step.duration !== null ? Math.min(1, node.step.duration / trace.total) : null;
      node.selfShare = node.self !== null ? Math.min(1, node.self / trace.total) : null;
    }
    for (const child of node.children) stack.push([child, depth + 1]);
  }
  return { roots, size: nodes.length, maxDepth };
}

/** The rows to show: every node whose ancestors are all expanded, in tree order. */
export function visibleRows(tree: TraceTree, collapsed: ReadonlySet<string>): TreeNode[] {
  const rows: TreeNode[] = [];
  const stack = [...tree.roots].reverse();
  while (stack.length) {
    const node = stack.pop() as TreeNode;
    rows.push(node);
    if (!collapsed.has(node.key)) for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]);
  }
  return rows;
}

/** Every node with children, for "collapse all". */
export function parentKeys(tree: TraceTree): string[] {
  const keys: string[] = [];
  const stack = [...tree.roots];
  while (stack.length) {
    const node = stack.pop() as TreeNode;
    if (node.children.length) keys.push(node.key);
    stack.push(...node.children);
  }
  return keys;
}
