import { useQuery } from "@tanstack/react-query";
import { apiGet } from "../api/client";
import type { ClientList } from "../api/types";
import { useAuth } from "./AuthContext";

export const ALL_CLIENTS = "";

/** For admin keys only: "All clients" or one client; the choice adds client_id to every request. */
export function ClientPicker() {
  const { key, clientId, setClientId } = useAuth();
  const clients = useQuery({
    queryKey: ["clients", key],
    // Listing clients is never narrowed to one client.
    queryFn: ({ signal }) => apiGet<ClientList>("/api/v1/clients", {}, { key: key!, signal }),
    staleTime: 5 * 60_000,
  });
  const items = clients.data?.items ?? [];
  const known = clientId === null || items.some((c) => c.client_id === clientId);
  return (
    <label className="picker">
      <span className="picker-label">Client</span>
      <select
        data-testid="client-picker"
        value={clientId ?? ALL_CLIENTS}
        onChange={(e) => setClientId(e.target.value || null)}
        disabled={clients.isPending}
        aria-describedby={clients.isError ? "client-picker-error" : undefined}
      >
        <option value={ALL_CLIENTS}>All clients</option>
        {!known && clientId ? <option value={clientId}>{clientId}</option> : null}
        {items.map((c) => (
          <option key={c.client_id} value={c.client_id}>
            {c.client_id}
          </option>
        ))}
      </select>
      {clients.isError ? (
        <span id="client-picker-error" className="picker-error" role="alert">
          could not list clients
        </span>
      ) : null}
    </label>
  );
}
