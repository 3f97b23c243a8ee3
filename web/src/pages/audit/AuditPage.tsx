import { useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { Params } from "../../api/client";
import type { AuditEvent, AuditPage as AuditPageData } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { Empty, ErrorState, Loading } from "../../components/States";
import { Time } from "../../components/Time";
import { formatCount, isoToLocalInput, localInputToIso } from "../../lib/format";
import { withCarried } from "../../lib/links";

export const KINDS: { value: string; label: string }[] = [
  { value: "", label: "Every kind" },
  { value: "auth_failed", label: "Failed sign-ins" },
  { value: "key_created", label: "Keys created" },
  { value: "key_rotated", label: "Keys rotated" },
  { value: "key_revoked", label: "Keys revoked" },
  { value: "admin_read", label: "Admin reads" },
];
const LIMITS = [100, 500, 1000];

/** The filters of GET /api/v1/admin/audit, kept in the URL under the API's names. */
export function auditParams(search: URLSearchParams): Params {
  const kind = search.get("kind") ?? "";
  const since = search.get("since") ?? "";
  const limit = Number(search.get("limit"));
  return {
    kind: KINDS.some((k) => k.value === kind) ? kind : "",
    since: since && !Number.isNaN(new Date(since).getTime()) ? since : "",
    actor: search.get("actor")?.trim() ?? "",
    limit: LIMITS.includes(limit) ? limit : 100,
  };
}

function describe(e: AuditEvent): string {
  const d = e.detail ?? {};
  const parts = Object.entries(d).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(", ") : String(v)}`);
  return parts.join(" · ");
}

function Filters({ params, onApply }: { params: Params; onApply: (next: Record<string, string>) => void }) {
  const [kind, setKind] = useState(String(params.kind ?? ""));
  const [since, setSince] = useState(isoToLocalInput(String(params.since ?? "")));
  const [actor, setActor] = useState(String(params.actor ?? ""));
  const [limit, setLimit] = useState(String(params.limit ?? 100));
  function submit(event: FormEvent) {
    event.preventDefault();
    onApply({ kind, since: localInputToIso(since) ?? "", actor: actor.trim(), limit: limit === "100" ? "" : limit });
  }
  return (
    <form className="filters" onSubmit={submit} aria-label="Audit filters">
      <label className="field">
        <span>Kind</span>
        <select name="kind" value={kind} onChange={(e) => setKind(e.target.value)}>
          {KINDS.map((k) => (
            <option key={k.value} value={k.value}>
              {k.label}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Since</span>
        <input name="since" type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
      </label>
      <label className="field">
        <span>Actor (key prefix or cli)</span>
        <input name="actor" value={actor} onChange={(e) => setActor(e.target.value)} placeholder="cl_…" />
      </label>
      <label className="field">
        <span>Rows</span>
        <select name="limit" value={limit} onChange={(e) => setLimit(e.target.value)}>
          {LIMITS.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <div className="filters-actions">
        <button type="submit" className="button button-primary">
          Apply filters
        </button>
      </div>
    </form>
  );
}

export default function AuditPage() {
  const [search, setSearch] = useSearchParams();
  const { get, clientId } = useAuth();
  const params = auditParams(search);
  const query = useQuery({
    queryKey: ["audit", clientId, params],
    queryFn: ({ signal }) => get<AuditPageData>("/api/v1/admin/audit", params, signal),
    placeholderData: keepPreviousData,
  });
  const apply = (next: Record<string, string>) => {
    const fresh = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) if (v) fresh.set(k, v);
    setSearch(withCarried(fresh, search));
  };
  const items = query.data?.items ?? [];
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Audit trail</h1>
          <p className="muted small">
            Failed sign-ins, key changes and admin reads, newest first{clientId ? `, concerning ${clientId}` : ""}. Keys
            appear by prefix only.
          </p>
        </div>
      </header>
      <Filters key={search.toString()} params={params} onApply={apply} />
      {query.isPending ? (
        <Loading label="Loading the audit trail…" />
      ) : query.isError ? (
        <ErrorState error={query.error} onRetry={() => void query.refetch()} />
      ) : items.length === 0 ? (
        <Empty title="No events match">Widen the filters, or pick all clients.</Empty>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Audit events (scrolls sideways)">
          <table className="table" data-testid="audit-table">
            <caption className="sr-only">Audit events</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Kind</th>
                <th scope="col">Actor</th>
                <th scope="col">Client</th>
                <th scope="col" className="num">Count</th>
                <th scope="col">From</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr key={e.id} data-testid="audit-row" data-kind={e.kind}>
                  <td>
                    <Time iso={e.occurred_at} />
                  </td>
                  <td data-col="kind">{KINDS.find((k) => k.value === e.kind)?.label ?? e.kind}</td>
                  <td data-col="actor">{e.actor ? <code>{e.actor}</code> : <span className="muted">—</span>}</td>
                  <td data-col="client">{e.client_id ?? <span className="muted">—</span>}</td>
                  <td className="num">{formatCount(e.count)}</td>
                  <td>{e.remote_addr ?? <span className="muted">—</span>}</td>
                  <td className="audit-detail">{describe(e)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
