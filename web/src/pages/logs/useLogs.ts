import { useEffect } from "react";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import type { LogPage } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { filtersToParams, type LogFilters } from "./filters";

/** One page of logs; the next page is fetched ahead so "Next" shows it at once. */
export function useLogs(filters: LogFilters, cursor: string | null) {
  const { get, clientId } = useAuth();
  const queryClient = useQueryClient();
  const params = filtersToParams(filters, cursor);
  const query = useQuery({
    queryKey: ["logs", clientId, params],
    queryFn: ({ signal }) => get<LogPage>("/api/v1/logs", params, signal),
    placeholderData: keepPreviousData,
  });

  const next = query.isPlaceholderData ? null : (query.data?.next_cursor ?? null);
  const nextKey = JSON.stringify(filtersToParams(filters, next));
  useEffect(() => {
    if (!next) return;
    const nextParams = JSON.parse(nextKey) as ReturnType<typeof filtersToParams>;
    void queryClient.prefetchQuery({
      queryKey: ["logs", clientId, nextParams],
      queryFn: ({ signal }) => get<LogPage>("/api/v1/logs", nextParams, signal),
    });
  }, [next, nextKey, clientId, get, queryClient]);

  return query;
}
