import { useQuery } from "@tanstack/react-query";
import type { Retention } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { formatLocal } from "../../lib/format";

/** How long this client's logs and charts are kept; and, when the range asked for
 *  reaches back past the logs' retention, that the logs before it are gone (the charts
 *  keep their counts longer). */
export function RetentionNote({ from }: { from: string | undefined }) {
  const { get, clientId } = useAuth();
  const retention = useQuery({
    queryKey: ["retention", clientId],
    queryFn: ({ signal }) => get<Retention>("/api/v1/retention", {}, signal),
    staleTime: 5 * 60_000,
  });
  const policy = retention.data;
  if (!policy) return null;
  const keptSince = new Date(policy.logs_kept_since);
  const whose = policy.client_id ? `${policy.client_id}'s` : "The default";
  const reachesPast = from !== undefined && new Date(from) < keptSince;
  return (
    <>
      <p className="muted small" data-testid="retention">
        {whose} logs are kept {policy.logs_days} days, charts {policy.rollup_days} days
        {policy.source === "default" && policy.client_id ? " (the default)" : ""}.
      </p>
      {reachesPast ? (
        <p className="notice" role="note" data-testid="retention-gone">
          Logs executed before {formatLocal(policy.logs_kept_since)} are past the {policy.logs_days}-day
          retention and have been deleted; the overview and categories still count those runs
          (charts are kept {policy.rollup_days} days).
        </p>
      ) : null}
    </>
  );
}
