import { useState, type FormEvent } from "react";
import { ApiError } from "../../api/client";
import type { AlertChannel, AlertRule, AlertRuleCreate } from "../../api/types";
import { reasonOf } from "../../auth/AuthContext";

type Kind = AlertRuleCreate["kind"];
const KINDS: { value: Kind; label: string; unit: string }[] = [
  { value: "failure_rate", label: "Failure rate", unit: "% of runs" },
  { value: "no_runs", label: "No runs (dead man's switch)", unit: "" },
  { value: "latency", label: "Latency", unit: "seconds" },
  { value: "count", label: "Count of runs", unit: "runs" },
];

/** The problem's field errors, each on its own line; or the message. */
export function ProblemList({ error }: { error: unknown }) {
  if (!error) return null;
  if (error instanceof ApiError && error.errors.length) {
    return (
      <ul className="alert" role="alert" data-testid="form-errors">
        {error.errors.map((e) => (
          <li key={`${e.field}-${e.reason}`}>
            <code>{e.field.replace(/^body\./, "")}</code>: {e.reason}
          </li>
        ))}
      </ul>
    );
  }
  return (
    <p className="alert" role="alert" data-testid="form-errors">
      {reasonOf(error)}
    </p>
  );
}

const text = (value: string | null | undefined) => value ?? "";
const orNull = (value: string) => (value.trim() ? value.trim() : null);

export function RuleForm({
  rule,
  channels,
  isAdmin,
  busy,
  error,
  onSave,
  onCancel,
}: {
  rule: AlertRule | null;
  channels: AlertChannel[];
  isAdmin: boolean;
  busy: boolean;
  error: unknown;
  onSave: (rule: AlertRuleCreate) => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState(text(rule?.name));
  const [kind, setKind] = useState<Kind>(rule?.kind ?? "failure_rate");
  const [threshold, setThreshold] = useState(rule?.threshold != null ? String(rule.threshold) : "20");
  const [minRuns, setMinRuns] = useState(String(rule?.min_runs ?? 5));
  const [percentile, setPercentile] = useState(rule?.percentile ?? "p95");
  const [status, setStatus] = useState(text(rule?.status));
  const [environment, setEnvironment] = useState(text(rule?.environment));
  const [category, setCategory] = useState(text(rule?.category));
  const [version, setVersion] = useState(text(rule?.workflow_version));
  const [groupBy, setGroupBy] = useState(text(rule?.group_by));
  const [windowMinutes, setWindowMinutes] = useState(String((rule?.window_seconds ?? 900) / 60));
  const [forMinutes, setForMinutes] = useState(String((rule?.for_seconds ?? 0) / 60));
  const [repeatMinutes, setRepeatMinutes] = useState(rule?.repeat_seconds ? String(rule.repeat_seconds / 60) : "");
  const [client, setClient] = useState(text(rule?.client_id));
  const [channelIds, setChannelIds] = useState<number[]>(rule?.channel_ids ?? []);
  const [enabled, setEnabled] = useState(rule?.enabled ?? true);
  const unit = KINDS.find((k) => k.value === kind)?.unit ?? "";
  // A provider rule notifies the provider's channels; a tenant's, its own.
  const usable = channels.filter((c) => c.provider === (rule ? rule.provider : isAdmin));

  function submit(event: FormEvent) {
    event.preventDefault();
    onSave({
      name: name.trim(),
      kind,
      threshold: kind === "no_runs" ? null : Number(threshold),
      min_runs: Number(minRuns) || 1,
      percentile: kind === "latency" ? (percentile as AlertRuleCreate["percentile"]) : null,
      status: kind === "count" ? orNull(status) : null,
      environment: orNull(environment),
      category: orNull(category),
      workflow_version: orNull(version),
      group_by: (orNull(groupBy) as AlertRuleCreate["group_by"]) ?? null,
      window_seconds: Math.round(Number(windowMinutes) * 60),
      for_seconds: Math.round(Number(forMinutes || "0") * 60),
      repeat_seconds: repeatMinutes.trim() ? Math.round(Number(repeatMinutes) * 60) : null,
      enabled,
      channel_ids: channelIds,
      client_id: isAdmin && !rule?.client_id ? orNull(client) : (rule?.client_id ?? null),
    });
  }

  return (
    <form className="card alert-rule-form" onSubmit={submit} aria-label={rule ? "Edit rule" : "New rule"}>
      <h2>{rule ? `Edit rule “${rule.name}”` : "New rule"}</h2>
      <div className="filters">
        <label className="field">
          <span>Name</span>
          <input name="name" value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <label className="field">
          <span>Kind</span>
          <select name="kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
            {KINDS.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        </label>
        {kind !== "no_runs" ? (
          <label className="field">
            <span>Threshold ({unit})</span>
            <input name="threshold" inputMode="decimal" value={threshold} onChange={(e) => setThreshold(e.target.value)} />
          </label>
        ) : null}
        {kind === "latency" ? (
          <label className="field">
            <span>Percentile</span>
            <select name="percentile" value={percentile} onChange={(e) => setPercentile(e.target.value as typeof percentile)}>
              <option value="p50">p50</option>
              <option value="p95">p95</option>
              <option value="p99">p99</option>
            </select>
          </label>
        ) : null}
        {kind === "count" ? (
          <label className="field">
            <span>Status (empty: every run)</span>
            <input name="status" value={status} onChange={(e) => setStatus(e.target.value)} placeholder="FAILURE" />
          </label>
        ) : null}
        {kind === "failure_rate" || kind === "latency" ? (
          <label className="field">
            <span>Minimum runs</span>
            <input name="min_runs" inputMode="numeric" value={minRuns} onChange={(e) => setMinRuns(e.target.value)} />
          </label>
        ) : null}
        <label className="field">
          <span>Window (minutes)</span>
          <input name="window" inputMode="numeric" value={windowMinutes} onChange={(e) => setWindowMinutes(e.target.value)} />
        </label>
        <label className="field">
          <span>Pending for (minutes)</span>
          <input name="for" inputMode="numeric" value={forMinutes} onChange={(e) => setForMinutes(e.target.value)} />
        </label>
        <label className="field">
          <span>Repeat every (minutes, empty: once)</span>
          <input name="repeat" inputMode="numeric" value={repeatMinutes} onChange={(e) => setRepeatMinutes(e.target.value)} />
        </label>
        <label className="field">
          <span>Environment</span>
          <input name="environment" value={environment} onChange={(e) => setEnvironment(e.target.value)} placeholder="any" />
        </label>
        <label className="field">
          <span>Category</span>
          <input name="category" value={category} onChange={(e) => setCategory(e.target.value)} placeholder="any" />
        </label>
        <label className="field">
          <span>Workflow version</span>
          <input name="workflow_version" value={version} onChange={(e) => setVersion(e.target.value)} placeholder="any" />
        </label>
        <label className="field">
          <span>One alert per</span>
          <select name="group_by" value={groupBy} onChange={(e) => setGroupBy(e.target.value)}>
            <option value="">(one alert)</option>
            <option value="environment">environment</option>
            <option value="category">category</option>
            <option value="version">workflow version</option>
          </select>
        </label>
        {isAdmin && !rule ? (
          <label className="field">
            <span>Client (empty: every client)</span>
            <input name="client_id" value={client} onChange={(e) => setClient(e.target.value)} />
          </label>
        ) : null}
      </div>
      <fieldset className="alert-channels-pick">
        <legend>Notify</legend>
        {usable.length === 0 ? <p className="muted small">No channels yet: add one below.</p> : null}
        {usable.map((c) => (
          <label key={c.id} className="check">
            <input
              type="checkbox"
              name="channel"
              value={c.id}
              checked={channelIds.includes(c.id)}
              onChange={(e) =>
                setChannelIds(e.target.checked ? [...channelIds, c.id] : channelIds.filter((id) => id !== c.id))
              }
            />{" "}
            {c.name} ({c.kind})
          </label>
        ))}
        <label className="check">
          <input type="checkbox" name="enabled" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} /> Enabled
        </label>
      </fieldset>
      <ProblemList error={error} />
      <div className="filters-actions">
        <button type="submit" className="button button-primary" disabled={busy}>
          {rule ? "Save rule" : "Create rule"}
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
