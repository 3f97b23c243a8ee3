import { useSearchParams } from "react-router";
import { REFRESH_CHOICES, REFRESH_PARAM, refreshFromSearch } from "../lib/refresh";

/** The page's auto-refresh interval, read from the URL (`refresh=30s|1m|5m`). */
export function useRefreshInterval(): number | false {
  const [search] = useSearchParams();
  return refreshFromSearch(search).ms;
}

export function RefreshControl({ updatedAt }: { updatedAt: number }) {
  const [search, setSearch] = useSearchParams();
  const { value } = refreshFromSearch(search);
  return (
    <label className="inline-field">
      Auto-refresh
      <select
        data-testid="refresh-interval"
        value={value}
        onChange={(e) => {
          const next = new URLSearchParams(search);
          if (e.target.value) next.set(REFRESH_PARAM, e.target.value);
          else next.delete(REFRESH_PARAM);
          setSearch(next, { replace: true });
        }}
      >
        {REFRESH_CHOICES.map((c) => (
          <option key={c.value} value={c.value}>
            {c.label}
          </option>
        ))}
      </select>
      {value && updatedAt ? (
        <span className="small" data-testid="updated-at" title={new Date(updatedAt).toISOString()}>
          updated {new Date(updatedAt).toLocaleTimeString()}
        </span>
      ) : null}
    </label>
  );
}
