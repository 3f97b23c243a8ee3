import { useQuery } from "@tanstack/react-query";
import type { LogValues } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";

export type PickListField = LogValues["field"];

/** The values a label has in this tenant's logs (every tenant's for an admin without a
 *  client picked), for a filter's pick-list. Values change rarely: kept a minute. */
export function useLogValues(field: PickListField) {
  const { get, clientId } = useAuth();
  return useQuery({
    queryKey: ["log-values", clientId, field],
    queryFn: ({ signal }) => get<LogValues>("/api/v1/logs/values", { field }, signal),
    staleTime: 60_000,
  });
}
