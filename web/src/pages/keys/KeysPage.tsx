import { useState } from "react";
import type { ApiKeyCreated, ApiKeyInfo } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { Empty, ErrorState, Loading } from "../../components/States";
import { Time } from "../../components/Time";
import { formatLocal } from "../../lib/format";
import { CreateKeyForm, Expiry, KeyActions, NewKeyNotice } from "./KeyForms";
import { keyState, STATE_LABELS } from "./keyState";
import { useKeyChanges, useKeyList } from "./useKeys";

function StateBadge({ k }: { k: ApiKeyInfo }) {
  const state = keyState(k);
  const tone = state === "active" ? "ok" : state === "expiring" ? "warn" : "neutral";
  return <span className={`badge badge-${tone}`}>{STATE_LABELS[state]}</span>;
}

function KeysTable({ items, admin, actions }: { items: ApiKeyInfo[]; admin: boolean; actions?: (k: ApiKeyInfo) => React.ReactNode }) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="API keys (scrolls sideways)">
      <table className="table" data-testid="keys-table">
        <caption className="sr-only">{admin ? "API keys of every client" : "Your client's API keys"}</caption>
        <thead>
          <tr>
            <th scope="col">Prefix</th>
            {admin ? <th scope="col">Client</th> : null}
            <th scope="col">Name</th>
            <th scope="col">Scopes</th>
            <th scope="col">State</th>
            {actions ? <th scope="col">Actions</th> : null}
            <th scope="col">Last used</th>
            <th scope="col">Expires</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {items.map((k) => (
            <tr key={k.prefix} data-testid="key-row" data-prefix={k.prefix}>
              <td>
                <code>{k.prefix}…</code>
              </td>
              {admin ? <td>{k.client_id}</td> : null}
              <td>{k.name ?? <span className="muted">—</span>}</td>
              <td data-col="scopes">{k.scopes.join(", ")}</td>
              <td data-col="state">
                <StateBadge k={k} />
              </td>
              {actions ? (
                <td data-col="actions">
                  {keyState(k) === "revoked" || keyState(k) === "expired" ? <span className="muted">—</span> : actions(k)}
                </td>
              ) : null}
              <td data-col="last-used">{k.last_used_at ? <Time iso={k.last_used_at} /> : <span className="muted">never</span>}</td>
              <td>{k.revoked_at ? <span className="muted">revoked {formatLocal(k.revoked_at)}</span> : <Expiry iso={k.expires_at} />}</td>
              <td>
                <Time iso={k.created_at} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AdminKeys({ items }: { items: ApiKeyInfo[] }) {
  const { clientId } = useAuth();
  const { create, rotate, revoke } = useKeyChanges();
  const [shown, setShown] = useState<{ created: ApiKeyCreated; note?: string } | null>(null);
  const busy = create.isPending || rotate.isPending || revoke.isPending;
  const failure = rotate.error ?? revoke.error;
  return (
    <>
      {shown ? <NewKeyNotice created={shown.created} note={shown.note} onDone={() => setShown(null)} /> : null}
      <CreateKeyForm
        key={clientId ?? ""}
        defaultClient={clientId}
        busy={create.isPending}
        error={create.error}
        onCreate={(spec) => create.mutate(spec, { onSuccess: (created) => setShown({ created }) })}
      />
      {failure ? <ErrorState error={failure} /> : null}
      <h2>{clientId ? `Keys of ${clientId}` : "Keys of every client"}</h2>
      {items.length === 0 ? (
        <Empty title="No stored keys yet">Keys from API_KEYS and ADMIN_API_KEYS live in the server's settings and are not listed.</Empty>
      ) : (
        <KeysTable
          items={items}
          admin
          actions={(k) => (
            <KeyActions
              prefix={k.prefix}
              busy={busy}
              onRevoke={() => revoke.mutate(k.prefix)}
              onRotate={(overlap) =>
                rotate.mutate(
                  { prefix: k.prefix, overlap },
                  {
                    onSuccess: (r) =>
                      setShown({
                        created: r.new,
                        note:
                          keyState(r.old) === "expiring" && r.old.expires_at
                            ? `${r.old.prefix}… keeps working until ${formatLocal(r.old.expires_at)}.`
                            : `${r.old.prefix}… stopped working.`,
                      }),
                  },
                )
              }
            />
          )}
        />
      )}
    </>
  );
}

export default function KeysPage() {
  const { me } = useAuth();
  const keys = useKeyList();
  const admin = Boolean(me?.is_admin);
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>API keys</h1>
          <p className="muted small">
            {admin
              ? "Create, rotate and revoke keys for every client. A key is shown once, when it is made."
              : `The keys of client ${me?.client_id ?? ""}: prefixes, scopes and last use. Your provider creates and revokes them.`}{" "}
            Signed in with <code data-testid="my-prefix">{me?.key_prefix.replace(/…$/, "")}…</code>.
          </p>
        </div>
      </header>
      {keys.isPending ? (
        <Loading label="Loading keys…" />
      ) : keys.isError ? (
        <ErrorState error={keys.error} onRetry={() => void keys.refetch()} />
      ) : admin ? (
        <AdminKeys items={keys.data} />
      ) : keys.data.length === 0 ? (
        <Empty title="No stored keys for your client">
          The key you signed in with is configured on the server (API_KEYS), not stored, so it is not listed.
        </Empty>
      ) : (
        <KeysTable items={keys.data} admin={false} />
      )}
    </div>
  );
}
