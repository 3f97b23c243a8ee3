import { useState } from "react";
import { isoToLocalInput, localInputToIso } from "../lib/format";
import { PRESETS, type RangeState } from "../lib/range";

/** Range presets (24 h, 7 d, 30 d, custom) and the environment filter, bound to the URL by the page. */
export function RangeControls({
  state,
  onChange,
  environments,
}: {
  state: RangeState;
  onChange: (next: RangeState) => void;
  environments: string[];
}) {
  const [from, setFrom] = useState(isoToLocalInput(state.from));
  const [to, setTo] = useState(isoToLocalInput(state.to));
  const envs = state.environment && !environments.includes(state.environment) ? [state.environment, ...environments] : environments;
  return (
    <div className="toolbar" role="group" aria-label="Range">
      <div className="segmented" role="radiogroup" aria-label="Time range">
        {PRESETS.map((p) => (
          <button
            key={p.value}
            type="button"
            role="radio"
            aria-checked={state.range === p.value}
            className={state.range === p.value ? "active" : ""}
            onClick={() => {
              if (p.value === "custom") {
                const now = new Date();
                const weekAgo = new Date(now.getTime() - 7 * 86400_000);
                const f = state.from ?? weekAgo.toISOString();
                const t = state.to ?? now.toISOString();
                setFrom(isoToLocalInput(f));
                setTo(isoToLocalInput(t));
                onChange({ ...state, range: "custom", from: f, to: t });
              } else onChange({ ...state, range: p.value, from: null, to: null });
            }}
          >
            {p.label}
          </button>
        ))}
      </div>
      {state.range === "custom" ? (
        <form
          className="custom-range"
          onSubmit={(e) => {
            e.preventDefault();
            onChange({ ...state, from: localInputToIso(from), to: localInputToIso(to) });
          }}
        >
          <label>
            From <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
          </label>
          <label>
            To <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
          </label>
          <button type="submit" className="button button-small">
            Apply
          </button>
        </form>
      ) : null}
      <label className="inline-field">
        Environment
        <select
          data-testid="environment-filter"
          value={state.environment ?? ""}
          onChange={(e) => onChange({ ...state, environment: e.target.value || null })}
        >
          <option value="">All environments</option>
          {envs.map((env) => (
            <option key={env} value={env}>
              {env}
            </option>
          ))}
        </select>
      </label>
    </div>
  );
}
