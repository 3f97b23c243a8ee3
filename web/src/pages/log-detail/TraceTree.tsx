import { useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { Json, JsonObject } from "../../api/types";
import { JsonViewer } from "../../components/JsonViewer";
import { statusTone } from "../../components/StatusBadge";
import { formatDuration, formatPercent } from "../../lib/format";
import type { ParsedTrace } from "./trace";
import { buildTree, parentKeys, visibleRows, type TreeNode } from "./traceTree";

// Past this many visible rows only those in view are rendered (a 5,000-step run).
const VIRTUAL_FROM = 150;
const ROW_HEIGHT = 37;
const INDENT = 16;

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: Json | undefined): string | null {
  return typeof value === "string" && value ? value : null;
}

/** The OpenTelemetry details a step may carry (docs/ingest.md, the step's shape). */
function StepDetail({ node, label }: { node: TreeNode; label: string }) {
  const { step } = node;
  const raw = isObject(step.raw) ? step.raw : {};
  const exception = isObject(raw.exception) ? raw.exception : null;
  const events = Array.isArray(raw.events) ? raw.events : [];
  const attributes = isObject(raw.attributes) ? raw.attributes : null;
  const known = step.input !== undefined || step.output !== undefined || step.error !== undefined || attributes || events.length;
  return (
    <div className="step-detail" id={`step-${step.index}-detail`}>
      <dl className="step-facts small">
        {text(raw.kind) ? (<><dt>Kind</dt><dd data-testid="step-kind">{text(raw.kind)}</dd></>) : null}
        <dt>Total</dt><dd>{formatDuration(step.duration)}</dd>
        <dt>Self</dt><dd>{formatDuration(node.self)}</dd>
        {node.children.length ? (<><dt>Children</dt><dd>{node.children.length}</dd></>) : null}
        {text(raw.span_id) ? (<><dt>Span</dt><dd><code>{text(raw.span_id)}</code></dd></>) : null}
      </dl>
      {exception ? (
        <div className="exception" data-testid="step-exception">
          <p className="exception-title">
            <strong>{text(exception.type) ?? "Exception"}</strong>
            {text(exception.message) ? `: ${text(exception.message)}` : ""}
          </p>
          {text(exception.stacktrace) ? <pre className="stacktrace">{text(exception.stacktrace)}</pre> : null}
        </div>
      ) : null}
      {step.error !== undefined ? <JsonViewer title="Error" label={`${label}: error`} value={step.error} /> : null}
      {step.input !== undefined ? <JsonViewer title="Input" label={`${label}: input`} value={step.input} /> : null}
      {step.output !== undefined ? <JsonViewer title="Output" label={`${label}: output`} value={step.output} /> : null}
      {attributes ? <JsonViewer title="Attributes" label={`${label}: attributes`} value={attributes} /> : null}
      {events.length ? <JsonViewer title="Events" label={`${label}: events`} value={events} /> : null}
      {!known ? <JsonViewer title="Step as recorded" label={`${label}: as recorded`} value={step.raw} /> : null}
    </div>
  );
}

/** The run's own span (payload.otel, from OpenTelemetry): its kind, status message and
 *  exception, which no step shows. */
export function RunSpan({ payload }: { payload: JsonObject | undefined }) {
  const otel = payload && isObject(payload.otel) ? payload.otel : null;
  if (!otel) return null;
  const exception = isObject(otel.exception) ? otel.exception : null;
  return (
    <div className="run-span small" data-testid="run-span">
      <span className="muted">Run span</span> <strong>{text(otel.root_span) ?? "—"}</strong>
      {text(otel.kind) ? <span className="muted"> · {text(otel.kind)?.toLowerCase()}</span> : null}
      {text(otel.status_message) ? <span> · {text(otel.status_message)}</span> : null}
      {exception ? (
        <div className="exception" data-testid="run-exception">
          <p className="exception-title">
            <strong>{text(exception.type) ?? "Exception"}</strong>
            {text(exception.message) ? `: ${text(exception.message)}` : ""}
          </p>
          {text(exception.stacktrace) ? <pre className="stacktrace">{text(exception.stacktrace)}</pre> : null}
        </div>
      ) : null}
    </div>
  );
}

function StepRow({
  node,
  total,
  open,
  collapsed,
  onToggleOpen,
  onToggleChildren,
}: {
  node: TreeNode;
  total: number | null;
  open: boolean;
  collapsed: boolean;
  onToggleOpen: () => void;
  onToggleChildren: () => void;
}) {
  const { step } = node;
  const left = total && step.offset !== null ? Math.min(100, (step.offset / total) * 100) : 0;
  const width = node.share !== null ? Math.max(0.6, node.share * 100) : 0;
  const tone = step.status ? statusTone(step.status.toUpperCase() === "OK" ? "SUCCESS" : step.status) : "neutral";
  const raw = isObject(step.raw) ? step.raw : {};
  const kind = text(raw.kind);
  const label = `Step ${step.index + 1} ${step.name}`;
  const indent = node.depth * INDENT;
  return (
    <>
      <button
        type="button"
        className="step-head"
        aria-expanded={open}
        aria-controls={`step-${step.index}-detail`}
        onClick={onToggleOpen}
        style={{ paddingLeft: indent + 22 }}
      >
        <span className="step-index">{step.index + 1}</span>
        <span className="step-name" data-testid="trace-step-name" title={step.name}>
          {step.name}
          {kind && kind !== "INTERNAL" ? <span className="step-kind small muted"> {kind.toLowerCase()}</span> : null}
          {isObject(raw.exception) ? <span className="badge badge-bad step-flag" title="Exception recorded">exception</span> : null}
        </span>
        <span className="step-status">{step.status ? <span className={`badge badge-${tone}`}>{step.status}</span> : null}</span>
        <span className="step-track" aria-hidden="true">
          {width ? <span className={`step-bar step-bar-${tone}`} style={{ left: `${Math.min(left, 100 - width)}%`, width: `${width}%` }} /> : null}
        </span>
        <span className="step-duration num" data-testid="trace-step-duration">{formatDuration(step.duration)}</span>
        <span className="step-self num" data-testid="trace-step-self">{formatDuration(node.self)}</span>
        <span className="step-share num" title="Share of the run, this step with its children">{node.share !== null ? formatPercent(node.share) : "—"}</span>
        <span className="chevron" aria-hidden="true">{open ? "▾" : "▸"}</span>
      </button>
      {node.children.length ? (
        <button
          type="button"
          className="tree-toggle"
          style={{ left: indent + 2 }}
          aria-expanded={!collapsed}
          aria-label={`${collapsed ? "Expand" : "Collapse"} ${node.children.length} steps under ${step.name}`}
          data-testid="tree-toggle"
          onClick={onToggleChildren}
        >
          {collapsed ? "⊞" : "⊟"}
        </button>
      ) : null}
      {open ? <StepDetail node={node} label={label} /> : null}
    </>
  );
}

export function TraceView({ trace }: { trace: ParsedTrace }) {
  const tree = useMemo(() => buildTree(trace), [trace]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const [opened, setOpened] = useState<ReadonlySet<string>>(() => new Set());
  const rows = useMemo(() => visibleRows(tree, collapsed), [tree, collapsed]);
  const scroller = useRef<HTMLDivElement>(null);
  const virtual = rows.length >= VIRTUAL_FROM;
  const virtualizer = useVirtualizer({
    count: virtual ? rows.length : 0,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    getItemKey: (i) => rows[i].key,
    overscan: 12,
  });

  if (!trace.present) {
    return <p className="muted" data-testid="trace-absent">This run's payload has no <code>trace</code>.</p>;
  }
  if (trace.problem) {
    return (
      <p className="notice" data-testid="trace-problem">
        The trace could not be read as steps: {trace.problem}. It is shown as recorded in the payload below.
      </p>
    );
  }
  if (!trace.steps.length) return <p className="muted">The trace is empty.</p>;

  const toggle = (set: ReadonlySet<string>, key: string) => {
    const next = new Set(set);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    return next;
  };
  const row = (node: TreeNode) => (
    <StepRow
      node={node}
      total={trace.total}
      open={opened.has(node.key)}
      collapsed={collapsed.has(node.key)}
      onToggleOpen={() => setOpened(toggle(opened, node.key))}
      onToggleChildren={() => setCollapsed(toggle(collapsed, node.key))}
    />
  );
  const nested = tree.maxDepth > 0;
  return (
    <>
      {nested ? (
        <div className="tree-actions">
          <span className="small muted" data-testid="trace-shape">
            {tree.size} steps, {tree.roots.length} at the top, {tree.maxDepth + 1} levels deep
          </span>
          <button type="button" className="button button-ghost" onClick={() => setCollapsed(new Set())}>
            Expand all
          </button>
          <button type="button" className="button button-ghost" onClick={() => setCollapsed(new Set(parentKeys(tree)))}>
            Collapse all
          </button>
        </div>
      ) : null}
      <div className="step-legend small muted" aria-hidden="true">
        <span />
        <span>Step</span>
        <span>Status</span>
        <span>Timeline {trace.total ? `(0 → ${formatDuration(trace.total)})` : ""}</span>
        <span className="num">Total</span>
        <span className="num">Self</span>
        <span className="num" title="Of the run, with children: a child's share is part of its parent's">Share</span>
        <span />
      </div>
      {virtual ? (
        <div className="steps-scroll" ref={scroller} data-testid="trace-scroll">
          <ol className="steps" data-testid="trace" style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {virtualizer.getVirtualItems().map((item) => (
              <li
                key={item.key}
                className="step"
                data-testid="trace-step"
                data-index={item.index}
                data-depth={rows[item.index].depth}
                ref={virtualizer.measureElement}
                style={{ position: "absolute", top: 0, left: 0, right: 0, transform: `translateY(${item.start}px)` }}
              >
                {row(rows[item.index])}
              </li>
            ))}
          </ol>
        </div>
      ) : (
        <ol className="steps" data-testid="trace">
          {rows.map((node) => (
            <li key={node.key} className="step" data-testid="trace-step" data-depth={node.depth}>
              {row(node)}
            </li>
          ))}
        </ol>
      )}
      <p className="small muted trace-note">
        Total is a step with its children; self is its own time, not covered by a child; share is of the run.
        Without parallel steps, self times add up to at most the run.
      </p>
    </>
  );
}
