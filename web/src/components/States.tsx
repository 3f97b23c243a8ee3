import type { ReactNode } from "react";
import { Link } from "react-router";
import { ApiError } from "../api/client";
import { useLink } from "../lib/links";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <svg className="state-icon" viewBox="0 0 24 24" aria-hidden="true">
        <path d="M4 5h16v14H4z M4 9h16 M9 13h6" fill="none" stroke="currentColor" strokeWidth="1.5" />
      </svg>
      <p className="state-title">{title}</p>
      {children ? <div className="state-body">{children}</div> : null}
    </div>
  );
}

interface Explained {
  title: string;
  detail: string | null;
  /** Only where trying again can help: the network, a busy or unavailable service. */
  retry: boolean;
  /** Where to go instead, when trying again cannot help. */
  way: { to: string; label: string } | null;
}

/** What an error means for the reader, in their words, and what they can do about it. */
export function explain(error: unknown): Explained {
  const home = { to: "/", label: "Back to the overview" };
  if (!(error instanceof ApiError)) {
    return { title: "Something went wrong", detail: error instanceof Error ? error.message : null, retry: true, way: null };
  }
  const { status, detail } = error;
  if (status === 0) return { title: "The service could not be reached", detail: "Check your connection; the page tries again when you ask.", retry: true, way: null };
  if (status === 403) {
    return {
      title: "This key cannot open this page",
      detail: `${detail ?? "The key lacks a scope this page needs."} Sign in with a key that has it, or ask your provider for one.`,
      retry: false,
      way: home,
    };
  }
  if (status === 404) {
    return {
      title: "Not found",
      detail: "Nothing here: it does not exist, it was removed by retention, or it belongs to another client.",
      retry: false,
      way: { to: "/logs", label: "Go to the logs" },
    };
  }
  if (status === 400 || status === 422) {
    return { title: "This address asks for something the service cannot read", detail, retry: false, way: home };
  }
  if (status === 429) return { title: "Too many requests", detail: `${detail ?? "Slow down."} Try again in a moment.`, retry: true, way: null };
  if (status === 503) return { title: "The database is unavailable", detail: `${detail ?? ""} Try again shortly.`.trim(), retry: true, way: null };
  if (status >= 500) return { title: `${status} ${error.title}`, detail, retry: true, way: null };
  return { title: `${status} ${error.title}`, detail, retry: false, way: home };
}

export function ErrorState({ error, onRetry, heading = false }: { error: unknown; onRetry?: () => void; heading?: boolean }) {
  const { title, detail, retry, way } = explain(error);
  const fields = error instanceof ApiError ? error.errors : [];
  const link = useLink();
  return (
    <div className="state state-error" role="alert" data-testid="error-state">
      {heading ? <h1 className="state-title">{title}</h1> : <p className="state-title">{title}</p>}
      {detail ? <p className="state-body">{detail}</p> : null}
      {fields.length ? (
        <ul className="field-errors">
          {fields.map((f) => (
            <li key={f.field + f.reason}>
              <code>{f.field}</code>: {f.reason}
            </li>
          ))}
        </ul>
      ) : null}
      {retry && onRetry ? (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
      {way ? <Link to={link(way.to)}>{way.label}</Link> : null}
    </div>
  );
}
