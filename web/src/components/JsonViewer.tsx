import { useState } from "react";
import type { Json } from "../api/types";

export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard?.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the textarea trick
  }
  try {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok;
  } catch {
    return false;
  }
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [state, setState] = useState<"idle" | "done" | "failed">("idle");
  return (
    <button
      type="button"
      className="button button-small"
      onClick={async () => {
        setState((await copyText(text)) ? "done" : "failed");
        window.setTimeout(() => setState("idle"), 1500);
      }}
    >
      {state === "done" ? "Copied" : state === "failed" ? "Copy failed" : label}
    </button>
  );
}

function Scalar({ value }: { value: Json }) {
  if (value === null) return <span className="j-null">null</span>;
  if (typeof value === "string") return <span className="j-string">{JSON.stringify(value)}</span>;
  if (typeof value === "number") return <span className="j-number">{String(value)}</span>;
  if (typeof value === "boolean") return <span className="j-bool">{String(value)}</span>;
  return null;
}

// A container this large starts closed, and a closed container renders no children: a
// 5,000-step trace in the payload would otherwise put tens of thousands of nodes in the page.
const OPEN_UP_TO = 100;

function Node({ name, value, depth }: { name: string | null; value: Json; depth: number }) {
  const size = value !== null && typeof value === "object" ? Object.keys(value).length : 0;
  const [expanded, setExpanded] = useState(depth < 2 && size <= OPEN_UP_TO);
  const label = name !== null ? <span className="j-key">{name}: </span> : null;
  if (value === null || typeof value !== "object") {
    return (
      <div className="j-line">
        {label}
        <Scalar value={value} />
      </div>
    );
  }
  const entries: [string, Json][] = Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : Object.entries(value);
  const [open, close] = Array.isArray(value) ? ["[", "]"] : ["{", "}"];
  if (!entries.length) {
    return (
      <div className="j-line">
        {label}
        <span className="j-punct">{open + close}</span>
      </div>
    );
  }
  return (
    <details
      className="j-node"
      open={expanded}
      onToggle={(e) => setExpanded((e.currentTarget as HTMLDetailsElement).open)}
    >
      <summary>
        {label}
        <span className="j-punct">{open}</span>
        <span className="j-count">
          {entries.length} {Array.isArray(value) ? (entries.length === 1 ? "item" : "items") : entries.length === 1 ? "key" : "keys"}
        </span>
        <span className="j-punct j-close-inline">{close}</span>
      </summary>
      {expanded ? (
        <>
          <div className="j-children">
            {entries.map(([k, v]) => (
              <Node key={k} name={Array.isArray(value) ? null : k} value={v} depth={depth + 1} />
            ))}
          </div>
          <div className="j-punct">{close}</div>
        </>
      ) : null}
    </details>
  );
}

/** A collapsible JSON tree with a copy button; nodes are <details>, so the keyboard works. */
export function JsonViewer({
  value,
  title,
  label,
  empty = "Nothing recorded.",
}: {
  value: Json | undefined;
  title: string;
  /** The region's accessible name when the title alone repeats on the page (a step's "Input"). */
  label?: string;
  empty?: string;
}) {
  const text = value === undefined ? "" : JSON.stringify(value, null, 2);
  const blank = value === undefined || value === null || (typeof value === "object" && Object.keys(value).length === 0);
  return (
    <section className="json-viewer" aria-label={label ?? title}>
      <header className="json-head">
        <h3>{title}</h3>
        {!blank ? <CopyButton text={text} label="Copy JSON" /> : null}
      </header>
      {blank ? <p className="muted">{empty}</p> : <div className="json-tree"><Node name={null} value={value as Json} depth={0} /></div>}
    </section>
  );
}
