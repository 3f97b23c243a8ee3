import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { Params } from "../../api/client";
import type { Anomalies, Patterns, Trends, Versions } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { useRefreshInterval } from "../../components/RefreshControl";

/** One insights endpoint for the page's range (and the version picked, for versions). */
function useInsight<T>(path: string, params: Params) {
  const { get, clientId } = useAuth();
  return useQuery({
    queryKey: ["insights", path, clientId, params],
    queryFn: ({ signal }) => get<T>(`/api/v1/insights/${path}`, params, signal),
    placeholderData: keepPreviousData,
    refetchInterval: useRefreshInterval(),
  });
}

export const useVersions = (params: Params) => useInsight<Versions>("versions", params);
export const useTrends = (params: Params) => useInsight<Trends>("trends", params);
export const useAnomalies = (params: Params) => useInsight<Anomalies>("anomalies", params);
export const usePatterns = (params: Params) => useInsight<Patterns>("patterns", params);
