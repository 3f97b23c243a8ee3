import type { ReactNode } from "react";
import { ApiError } from "../api/client";

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

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  let title = "Something went wrong";
  let detail: string | null = error instanceof Error ? error.message : null;
  let fields: { field: string; reason: string }[] = [];
  if (error instanceof ApiError) {
    title = error.status === 0 ? "The service could not be reached" : `${error.status} ${error.title}`;
    detail = error.detail;
    fields = error.errors;
    if (error.status === 404) title = "Not found";
    if (error.status === 503) detail = `${detail ?? "The database is unavailable."} Try again shortly.`;
  }
  return (
    <div className="state state-error" role="alert">
      <p className="state-title">{title}</p>
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
      {onRetry ? (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}
