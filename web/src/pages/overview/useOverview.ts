import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import type { Overview } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { rangeFromSearch, rangeToParams, rangeToSearch, type RangeState } from "../../lib/range";

/** The range of the page, read from and written to the URL. */
export function useRangeInUrl(): [RangeState, (next: RangeState) => void] {
  const [search, setSearch] = useSearchParams();
  const state = rangeFromSearch(search);
  return [state, (next) => setSearch(rangeToSearch(next))];
}

export function useOverview(state: RangeState) {
  const { get, clientId } = useAuth();
  const params = rangeToParams(state);
  return useQuery({
    queryKey: ["overview", clientId, params],
    queryFn: ({ signal }) => get<Overview>("/api/v1/metrics/overview", params, signal),
    placeholderData: keepPreviousData,
  });
}

/** Environments seen in the range (the same range without the environment filter). */
export function useEnvironments(state: RangeState): string[] {
  const all = useOverview({ ...state, environment: null });
  return (all.data?.by_environment ?? []).map((e) => e.environment).sort();
}
