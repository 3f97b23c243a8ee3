import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { apiSend } from "../../api/client";
import type {
  AlertChannel,
  AlertChannelCreate,
  AlertChannelCreated,
  AlertChannelList,
  AlertEvent,
  AlertEventList,
  AlertRule,
  AlertRuleCreate,
  AlertRuleList,
  Delivery,
  DeliveryList,
  FiringAlert,
  FiringAlertList,
} from "../../api/types";
import { useAuth } from "../../auth/AuthContext";

const BASE = "/api/v1/alerts";

/** What fires now, the rules, the channels, the history: each a query, refreshed every 30 s. */
export function useAlertData() {
  const { get, clientId } = useAuth();
  const refetchInterval = 30_000;
  const firing = useQuery({
    queryKey: ["alerts", "firing", clientId],
    queryFn: async ({ signal }): Promise<FiringAlert[]> =>
      (await get<FiringAlertList>(`${BASE}/firing`, {}, signal)).items,
    refetchInterval,
  });
  const rules = useQuery({
    queryKey: ["alerts", "rules", clientId],
    queryFn: async ({ signal }): Promise<AlertRule[]> => (await get<AlertRuleList>(`${BASE}/rules`, {}, signal)).items,
  });
  const channels = useQuery({
    queryKey: ["alerts", "channels", clientId],
    queryFn: async ({ signal }): Promise<AlertChannel[]> =>
      (await get<AlertChannelList>(`${BASE}/channels`, {}, signal)).items,
  });
  const events = useQuery({
    queryKey: ["alerts", "events", clientId],
    queryFn: async ({ signal }): Promise<AlertEvent[]> =>
      (await get<AlertEventList>(`${BASE}/events`, { limit: 100 }, signal)).items,
    refetchInterval,
  });
  const deliveries = useQuery({
    queryKey: ["alerts", "deliveries", clientId],
    queryFn: async ({ signal }): Promise<Delivery[]> =>
      (await get<DeliveryList>(`${BASE}/deliveries`, { limit: 100 }, signal)).items,
    refetchInterval,
  });
  return { firing, rules, channels, events, deliveries };
}

export function useAlertChanges() {
  const { key } = useAuth();
  const queryClient = useQueryClient();
  const done = () => queryClient.invalidateQueries({ queryKey: ["alerts"] });
  const options = { key: key! };
  const saveRule = useMutation({
    mutationFn: ({ id, rule }: { id: number | null; rule: AlertRuleCreate }) =>
      id === null
        ? apiSend<AlertRule>("POST", `${BASE}/rules`, rule, options)
        : apiSend<AlertRule>("PUT", `${BASE}/rules/${id}`, rule, options),
    onSuccess: done,
  });
  const silence = useMutation({
    mutationFn: ({ id, until }: { id: number; until: string | null }) =>
      apiSend<AlertRule>("PUT", `${BASE}/rules/${id}/silence`, { until }, options),
    onSuccess: done,
  });
  const deleteRule = useMutation({
    mutationFn: (id: number) => apiSend<void>("DELETE", `${BASE}/rules/${id}`, undefined, options),
    onSuccess: done,
  });
  const createChannel = useMutation({
    mutationFn: (channel: AlertChannelCreate) =>
      apiSend<AlertChannelCreated>("POST", `${BASE}/channels`, channel, options),
    onSuccess: done,
  });
  const deleteChannel = useMutation({
    mutationFn: (id: number) => apiSend<void>("DELETE", `${BASE}/channels/${id}`, undefined, options),
    onSuccess: done,
  });
  const testChannel = useMutation({
    mutationFn: (id: number) => apiSend<Delivery>("POST", `${BASE}/channels/${id}/test`, undefined, options),
    onSuccess: done,
  });
  return { saveRule, silence, deleteRule, createChannel, deleteChannel, testChannel };
}

/** A notification's link, as a path inside this dashboard (DASHBOARD_URL may name another host). */
export function dashboardPath(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return "/logs";
  }
}

/** "failure rate ≥ 20% (min 5 runs)", "p95 > 3 s", "no runs", "FAILURE runs > 10". */
export function describeCondition(rule: Pick<AlertRule, "kind" | "threshold" | "min_runs" | "percentile" | "status">): string {
  const t = rule.threshold ?? 0;
  switch (rule.kind) {
    case "failure_rate":
      return `failure rate ≥ ${t}%${rule.min_runs > 1 ? ` (min ${rule.min_runs} runs)` : ""}`;
    case "latency":
      return `${rule.percentile ?? "p95"} > ${t} s${rule.min_runs > 1 ? ` (min ${rule.min_runs} runs)` : ""}`;
    case "count":
      return `${rule.status ? `${rule.status} runs` : "runs"} > ${t}`;
    default:
      return "no runs";
  }
}

export function formatWindow(seconds: number): string {
  if (seconds % 86_400 === 0) return `${seconds / 86_400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
