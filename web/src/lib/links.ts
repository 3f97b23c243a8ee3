import { useCallback } from "react";
import { useSearchParams } from "react-router";

/** Parameters that belong to the whole session's view, not to one page: they follow
 * every link inside the app (the admin's chosen client). */
export const CARRIED_PARAMS = ["client"] as const;

/** `to` (a path, maybe with a query) with the carried parameters of `current` added,
 * unless `to` sets them itself. */
export function carry(to: string, current: URLSearchParams): string {
  const [path, query = ""] = to.split("?", 2);
  const params = new URLSearchParams(query);
  for (const name of CARRIED_PARAMS) {
    const value = current.get(name);
    if (value && !params.has(name)) params.set(name, value);
  }
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

/** A page's new query that keeps the carried parameters of the current one. */
export function withCarried(next: URLSearchParams, current: URLSearchParams): URLSearchParams {
  const merged = new URLSearchParams(next);
  for (const name of CARRIED_PARAMS) {
    const value = current.get(name);
    if (value && !merged.has(name)) merged.set(name, value);
  }
  return merged;
}

/** `link("/logs?status=FAILURE")` -> the same, for the client the admin is looking at. */
export function useLink(): (to: string) => string {
  const [search] = useSearchParams();
  return useCallback((to: string) => carry(to, search), [search]);
}

/** The Logs page for the runs an overview counted: its exact range and environment. */
export function logsOfRange(
  data: { from: string; to: string },
  environment: string | null,
  extra: Record<string, string> = {},
): string {
  const search = new URLSearchParams({ ...extra, from: data.from, to: data.to });
  if (environment) search.set("environment", environment);
  return `/logs?${search.toString()}`;
}
