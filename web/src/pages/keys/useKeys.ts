import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { apiSend } from "../../api/client";
import type { ApiKeyCreated, ApiKeyInfo, KeyCreate, KeyList, KeyRotated, OwnKeys } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";

/** Every key (admins: all tenants, or the picked client's), or the caller's own. */
export function useKeyList() {
  const { get, clientId, me } = useAuth();
  const admin = Boolean(me?.is_admin);
  return useQuery({
    queryKey: ["keys", admin ? "all" : "own", clientId],
    queryFn: async ({ signal }): Promise<ApiKeyInfo[]> =>
      admin
        ? (await get<KeyList>("/api/v1/admin/keys", {}, signal)).items
        : (await get<OwnKeys>("/api/v1/keys", {}, signal)).items,
  });
}

export function useKeyChanges() {
  const { key } = useAuth();
  const queryClient = useQueryClient();
  const done = () => queryClient.invalidateQueries({ queryKey: ["keys"] });
  const create = useMutation({
    mutationFn: (spec: KeyCreate) => apiSend<ApiKeyCreated>("POST", "/api/v1/admin/keys", spec, { key: key! }),
    onSuccess: done,
  });
  const rotate = useMutation({
    mutationFn: ({ prefix, overlap }: { prefix: string; overlap: number }) =>
      apiSend<KeyRotated>("POST", `/api/v1/admin/keys/${encodeURIComponent(prefix)}/rotate`, { overlap_seconds: overlap }, { key: key! }),
    onSuccess: done,
  });
  const revoke = useMutation({
    mutationFn: (prefix: string) => apiSend<ApiKeyInfo>("DELETE", `/api/v1/admin/keys/${encodeURIComponent(prefix)}`, undefined, { key: key! }),
    onSuccess: done,
  });
  return { create, rotate, revoke };
}
