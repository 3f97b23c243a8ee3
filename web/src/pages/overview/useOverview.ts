import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import type { Overview } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { withCarried } from "../../lib/links";
import { rangeFromSearch, rangeToParams, rangeToSearch, type RangeState } from "../../lib/range";
import { REFRESH_PARAM } from "../../lib/refresh";

/** The range of the page, read from and written to the URL (the client and the
 * auto-refresh interval stay as they are). */
export function useRangeInUrl(): [RangeState, (next: RangeState) => void] {
  const [search, setSearch] = useSearchParams();
  const state = rangeFromSearch(search);
  return [
    state,
    (next) => {
      const params = withCarried(rangeToSearch(next), search);
      const refresh = search.get(REFRESH_PARAM);
      if (refresh) params.set(REFRESH_PARAM, refresh);
      setSearch(params);
    },
  ];
}

export function useOverview(state: RangeState, refetchInterval: number | false = false) {
  const { get, clientId } = useAuth();
  const params = rangeToParams(state);
  return useQuery({
    queryKey: ["overview", clientId, params],
    queryFn: ({ signal }) => get<Overview>("/api/v1/metrics/overview", params, signal),
    placeholderData: keepPreviousData,
    refetchInterval,
    // Paused while the tab is hidden: nobody is looking.
    refetchIntervalInBackground: false,
  });
}

/** Environments seen in the range (the same range without the environment filter). */
export function useEnvironments(state: RangeState): string[] {
  const all = useOverview({ ...state, environment: null });
  return (all.data?.by_environment ?? []).map((e) => e.environment).sort();
}
