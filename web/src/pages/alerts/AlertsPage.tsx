import { useState } from "react";
import { Link } from "react-router";
import type { AlertRule, Delivery } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { Empty, ErrorState, Loading } from "../../components/States";
import { Time } from "../../components/Time";
import { ChannelsSection } from "./ChannelsSection";
import { RuleForm } from "./RuleForm";
import { dashboardPath, describeCondition, formatWindow, useAlertChanges, useAlertData } from "./useAlerts";

const HOUR = 3600_000;

function value(v: number | null | undefined): string {
  return v == null ? "—" : Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function FiringSection({ data }: { data: ReturnType<typeof useAlertData>["firing"] }) {
  const items = data.data ?? [];
  return (
    <section className="card" aria-labelledby="firing-title">
      <h2 id="firing-title">Firing now</h2>
      {data.isPending ? (
        <Loading label="Loading alerts…" />
      ) : data.isError ? (
        <ErrorState error={data.error} onRetry={() => void data.refetch()} />
      ) : items.length === 0 ? (
        <Empty title="Nothing is firing">Every rule's condition is clear.</Empty>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Firing alerts (scrolls sideways)">
          <table className="table" data-testid="firing-table">
            <caption className="sr-only">Alerts firing or pending</caption>
            <thead>
              <tr>
                <th scope="col">State</th>
                <th scope="col">Rule</th>
                <th scope="col">Client</th>
                <th scope="col">Group</th>
                <th scope="col" className="num">Value</th>
                <th scope="col" className="num">Threshold</th>
                <th scope="col">Since</th>
                <th scope="col">Runs</th>
              </tr>
            </thead>
            <tbody>
              {items.map((a) => (
                <tr key={`${a.rule_id}-${a.client_id}-${a.group_key}`} data-testid="firing-row" data-state={a.state}>
                  <td>
                    <span className={`badge badge-${a.state === "firing" ? "bad" : "warn"}`}>{a.state}</span>
                    {a.silenced_until ? <span className="small muted"> (silenced)</span> : null}
                  </td>
                  <td>{a.rule_name}</td>
                  <td>{a.client_id}</td>
                  <td>{a.group_by ? `${a.group_by}=${a.group_key}` : "—"}</td>
                  <td className="num">{value(a.value)}</td>
                  <td className="num">{value(a.threshold)}</td>
                  <td>
                    <Time iso={(a.firing_since ?? a.pending_since)!} />
                  </td>
                  <td>
                    <Link to={dashboardPath(a.logs_url)} data-testid="firing-logs-link">
                      View runs
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function RulesSection({ rules, onEdit }: { rules: AlertRule[]; onEdit: (rule: AlertRule) => void }) {
  const { silence, deleteRule } = useAlertChanges();
  if (rules.length === 0) return <Empty title="No rules yet">Create one: it is evaluated every 30 seconds.</Empty>;
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="Rules (scrolls sideways)">
      <table className="table" data-testid="rules-table">
        <caption className="sr-only">Alert rules</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Client</th>
            <th scope="col">Condition</th>
            <th scope="col">Window</th>
            <th scope="col">Narrowed to</th>
            <th scope="col">Per</th>
            <th scope="col">Silenced until</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {rules.map((r) => {
            const silenced = r.silenced_until && new Date(r.silenced_until).getTime() > Date.now();
            const narrowed = [r.environment, r.category, r.workflow_version && `v${r.workflow_version}`].filter(Boolean);
            return (
              <tr key={r.id} data-testid="rule-row" data-rule={r.name}>
                <td>
                  {r.name}
                  {!r.enabled ? <span className="small muted"> (disabled)</span> : null}
                </td>
                <td>{r.client_id ?? "every client"}{r.provider ? " (provider)" : ""}</td>
                <td>{describeCondition(r)}</td>
                <td>{formatWindow(r.window_seconds)}</td>
                <td>{narrowed.length ? narrowed.join(", ") : "—"}</td>
                <td>{r.group_by ?? "—"}</td>
                <td data-col="silenced">{silenced ? <Time iso={r.silenced_until!} /> : "—"}</td>
                <td className="row-actions">
                  <button type="button" className="button" onClick={() => onEdit(r)}>
                    Edit
                  </button>{" "}
                  {silenced ? (
                    <button type="button" className="button" onClick={() => silence.mutate({ id: r.id, until: null })}>
                      Unsilence
                    </button>
                  ) : (
                    <button
                      type="button"
                      className="button"
                      onClick={() => silence.mutate({ id: r.id, until: new Date(Date.now() + HOUR).toISOString() })}
                    >
                      Silence 1 h
                    </button>
                  )}{" "}
                  <button
                    type="button"
                    className="button button-danger"
                    onClick={() => window.confirm(`Delete rule “${r.name}”?`) && deleteRule.mutate(r.id)}
                  >
                    Delete
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function attempts(d: Delivery): string {
  return d.attempt_log
    .map((a) => `${a.outcome}${a.status_code ? ` ${a.status_code}` : ""}${a.error ? ` (${a.error})` : ""}`)
    .join(" → ");
}

function HistorySection({ data }: { data: ReturnType<typeof useAlertData> }) {
  const events = data.events.data ?? [];
  const deliveries = data.deliveries.data ?? [];
  return (
    <section className="card" aria-labelledby="history-title">
      <h2 id="history-title">History</h2>
      {events.length === 0 ? (
        <Empty title="No events yet">State changes of every rule show here.</Empty>
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Events (scrolls sideways)">
          <table className="table" data-testid="events-table">
            <caption className="sr-only">State changes, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Rule</th>
                <th scope="col">Client</th>
                <th scope="col">Group</th>
                <th scope="col">Change</th>
                <th scope="col" className="num">Value</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id} data-testid="event-row">
                  <td>
                    <Time iso={e.occurred_at} />
                  </td>
                  <td>{e.rule_name ?? `rule ${e.rule_id} (deleted)`}</td>
                  <td>{e.client_id}</td>
                  <td>{e.group_key || "—"}</td>
                  <td>
                    {e.from_state} → {e.to_state}
                  </td>
                  <td className="num">{value(e.value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <h3>Deliveries</h3>
      {deliveries.length === 0 ? (
        <Empty title="No notifications sent yet" />
      ) : (
        <div className="table-wrap" tabIndex={0} role="region" aria-label="Deliveries (scrolls sideways)">
          <table className="table" data-testid="deliveries-table">
            <caption className="sr-only">Notifications and their attempts</caption>
            <thead>
              <tr>
                <th scope="col">Queued</th>
                <th scope="col">Reason</th>
                <th scope="col">Channel</th>
                <th scope="col">Status</th>
                <th scope="col">Attempts</th>
              </tr>
            </thead>
            <tbody>
              {deliveries.map((d) => (
                <tr key={d.id} data-testid="delivery-row" data-status={d.status}>
                  <td>
                    <Time iso={d.created_at} />
                  </td>
                  <td>{d.reason}</td>
                  <td>{d.channel_id}</td>
                  <td>{d.status}</td>
                  <td className="small">{attempts(d) || "none yet"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export default function AlertsPage() {
  const { me, clientId } = useAuth();
  const data = useAlertData();
  const { saveRule } = useAlertChanges();
  const [editing, setEditing] = useState<AlertRule | "new" | null>(null);
  const isAdmin = Boolean(me?.is_admin);
  const rules = data.rules.data ?? [];
  const channels = data.channels.data ?? [];
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Alerts</h1>
          <p className="muted small">
            Rules over {isAdmin ? (clientId ? `${clientId}'s` : "every client's") : "your"} runs, what fires now, and
            every notification.
          </p>
        </div>
        {editing === null ? (
          <button type="button" className="button button-primary" onClick={() => { saveRule.reset(); setEditing("new"); }}>
            New rule
          </button>
        ) : null}
      </header>
      <FiringSection data={data.firing} />
      {editing !== null ? (
        <RuleForm
          key={editing === "new" ? "new" : editing.id}
          rule={editing === "new" ? null : editing}
          channels={channels}
          isAdmin={isAdmin}
          busy={saveRule.isPending}
          error={saveRule.error}
          onCancel={() => setEditing(null)}
          onSave={(rule) =>
            saveRule.mutate(
              { id: editing === "new" ? null : editing.id, rule },
              { onSuccess: () => setEditing(null) },
            )
          }
        />
      ) : null}
      <section className="card" aria-labelledby="rules-title">
        <h2 id="rules-title">Rules</h2>
        {data.rules.isPending ? (
          <Loading label="Loading rules…" />
        ) : data.rules.isError ? (
          <ErrorState error={data.rules.error} onRetry={() => void data.rules.refetch()} />
        ) : (
          <RulesSection rules={rules} onEdit={(r) => { saveRule.reset(); setEditing(r); }} />
        )}
      </section>
      <ChannelsSection channels={channels} />
      <HistorySection data={data} />
    </div>
  );
}
