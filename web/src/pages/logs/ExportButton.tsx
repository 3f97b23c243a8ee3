import { useState } from "react";
import { API_KEY_HEADER, buildUrl, toApiError } from "../../api/client";
import { reasonOf, useAuth } from "../../auth/AuthContext";
import type { LogFilters } from "./filters";

type Format = "jsonl" | "csv";

/** The file name the service chose (Content-Disposition), else a sensible one. */
function fileName(disposition: string | null, format: Format): string {
  const match = disposition?.match(/filename="([^"]+)"/);
  return match?.[1] ?? `logs.${format}`;
}

/** "Export": the logs the current filters match, as a file (GET /api/v1/logs/export).
 * Fetched with the key in its header (never in a URL), then handed to the browser. */
export function ExportButton({ filters }: { filters: LogFilters }) {
  const { key, me, clientId } = useAuth();
  const [format, setFormat] = useState<Format>("csv");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function download() {
    if (!key) return;
    setBusy(true);
    setError(null);
    try {
      const params = { ...filters.values, order: filters.order, format, client_id: me?.is_admin ? clientId : null };
      const response = await fetch(buildUrl("/api/v1/logs/export", params), { headers: { [API_KEY_HEADER]: key } });
      if (!response.ok) throw await toApiError(response);
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const link = document.createElement("a");
      link.href = url;
      link.download = fileName(response.headers.get("Content-Disposition"), format);
      document.body.appendChild(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (cause) {
      setError(reasonOf(cause));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="inline-field" data-testid="export">
      <select aria-label="Export format" value={format} onChange={(e) => setFormat(e.target.value === "jsonl" ? "jsonl" : "csv")}>
        <option value="csv">CSV</option>
        <option value="jsonl">JSONL</option>
      </select>
      <button type="button" className="button" onClick={() => void download()} disabled={busy}>
        {busy ? "Exporting…" : "Export"}
      </button>
      {error ? (
        <span role="alert" className="small notice">
          Export failed: {error}
        </span>
      ) : null}
    </div>
  );
}
