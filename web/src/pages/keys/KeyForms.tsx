import { useState, type FormEvent } from "react";
import type { ApiKeyCreated, KeyCreate } from "../../api/types";
import { reasonOf } from "../../auth/AuthContext";
import { CopyButton } from "../../components/JsonViewer";
import { Time } from "../../components/Time";
import { OVERLAPS } from "./keyState";

/** A key just made or rotated: shown this once, never again (only its hash is stored). */
export function NewKeyNotice({ created, note, onDone }: { created: ApiKeyCreated; note?: string; onDone: () => void }) {
  return (
    <section className="card new-key" aria-labelledby="new-key-title" data-testid="new-key-notice">
      <h2 id="new-key-title">
        New key for {created.client_id} ({created.prefix}…): copy it now
      </h2>
      <p className="notice">
        This is the only time the key is shown; the service keeps only its hash. Store it where the workflow reads
        its secrets.
      </p>
      <p className="new-key-value">
        <code data-testid="new-key">{created.key}</code> <CopyButton text={created.key} label="Copy key" />
      </p>
      {note ? <p className="small muted">{note}</p> : null}
      <button type="button" className="button" onClick={onDone}>
        I have stored it
      </button>
    </section>
  );
}

/** Admins make a key for any client (the picked one by default). */
export function CreateKeyForm({
  defaultClient,
  busy,
  error,
  onCreate,
}: {
  defaultClient: string | null;
  busy: boolean;
  error: unknown;
  onCreate: (spec: KeyCreate) => void;
}) {
  const [client, setClient] = useState(defaultClient ?? "");
  const [name, setName] = useState("");
  const [ingest, setIngest] = useState(true);
  const [read, setRead] = useState(true);
  const [admin, setAdmin] = useState(false);
  const [days, setDays] = useState("");
  const [problem, setProblem] = useState<string | null>(null);

  function submit(event: FormEvent) {
    event.preventDefault();
    const scopes: KeyCreate["scopes"] = [...(ingest ? ["ingest" as const] : []), ...(read ? ["read" as const] : [])];
    if (!client.trim()) return setProblem("Name the client the key speaks for.");
    if (!scopes.length && !admin) return setProblem("Pick at least one scope.");
    const expires = days.trim() ? Number(days) : null;
    if (expires !== null && (!Number.isInteger(expires) || expires < 1 || expires > 3650)) {
      return setProblem("Expiry is a whole number of days, 1 to 3650, or empty for never.");
    }
    setProblem(null);
    onCreate({ client_id: client.trim(), name: name.trim() || null, scopes, is_admin: admin, expires_in_days: expires });
  }

  const message = problem ?? (error ? reasonOf(error) : null);
  return (
    <form className="card key-form" onSubmit={submit} aria-labelledby="create-key-title" noValidate>
      <h2 id="create-key-title">Create a key</h2>
      <div className="key-form-fields">
        <label className="field">
          <span>Client</span>
          <input name="client_id" value={client} onChange={(e) => setClient(e.target.value)} required />
        </label>
        <label className="field">
          <span>Name (optional)</span>
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. triage workflow" />
        </label>
        <label className="field">
          <span>Expires after days (optional)</span>
          <input name="expires_in_days" type="number" min="1" max="3650" value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <fieldset className="field scopes">
          <legend>Scopes</legend>
          <label>
            <input type="checkbox" checked={ingest} onChange={(e) => setIngest(e.target.checked)} /> ingest
          </label>
          <label>
            <input type="checkbox" checked={read} onChange={(e) => setRead(e.target.checked)} /> read
          </label>
          <label>
            <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} /> admin (provider key, every tenant)
          </label>
        </fieldset>
      </div>
      {message ? (
        <p className="alert" role="alert" data-testid="create-key-error">
          {message}
        </p>
      ) : null}
      <div>
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? "Creating…" : "Create key"}
        </button>
      </div>
    </form>
  );
}

/** Rotate or revoke one key, each behind a confirmation in the row itself. */
export function KeyActions({
  prefix,
  busy,
  onRotate,
  onRevoke,
}: {
  prefix: string;
  busy: boolean;
  onRotate: (overlap: number) => void;
  onRevoke: () => void;
}) {
  const [asking, setAsking] = useState<"rotate" | "revoke" | null>(null);
  const [overlap, setOverlap] = useState(86_400);
  if (asking === "revoke") {
    return (
      <span className="key-actions" role="group" aria-label={`Revoke ${prefix}`}>
        <span>Revoke {prefix}? Clients using it get 401 at once.</span>
        <button type="button" className="button button-danger button-small" disabled={busy} onClick={onRevoke}>
          Yes, revoke
        </button>
        <button type="button" className="button button-small" onClick={() => setAsking(null)}>
          Cancel
        </button>
      </span>
    );
  }
  if (asking === "rotate") {
    return (
      <span className="key-actions" role="group" aria-label={`Rotate ${prefix}`}>
        <label>
          Old key stops{" "}
          <select value={overlap} onChange={(e) => setOverlap(Number(e.target.value))}>
            {OVERLAPS.map((o) => (
              <option key={o.seconds} value={o.seconds}>
                {o.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" className="button button-primary button-small" disabled={busy} onClick={() => onRotate(overlap)}>
          Make successor
        </button>
        <button type="button" className="button button-small" onClick={() => setAsking(null)}>
          Cancel
        </button>
      </span>
    );
  }
  return (
    <span className="key-actions">
      <button type="button" className="button button-small" onClick={() => setAsking("rotate")} aria-label={`Rotate ${prefix}`}>
        Rotate
      </button>
      <button type="button" className="button button-small" onClick={() => setAsking("revoke")} aria-label={`Revoke ${prefix}`}>
        Revoke
      </button>
    </span>
  );
}

export function Expiry({ iso }: { iso: string | null }) {
  return iso ? <Time iso={iso} /> : <span className="muted">never</span>;
}
