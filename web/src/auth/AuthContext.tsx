import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useNavigate, useSearchParams } from "react-router";
import { ApiError, apiGet, setUnauthorizedHandler, type Params } from "../api/client";
import type { Me } from "../api/types";
import { session } from "./session";

interface AuthState {
  key: string | null;
  me: Me | null;
  /** The client an admin narrowed to (`?client=` in the URL, so a shared link shows the
   * same tenant); null means all clients (and always null for a tenant). */
  clientId: string | null;
  reason: string | null;
  signIn: (key: string) => Promise<void>;
  /** `deliberate`: the user asked; the next sign-in starts at the overview, not here. */
  signOut: (reason?: string | null, deliberate?: boolean) => void;
  /** The last sign-out was asked for (so sign-in gets no `next` back to this user's place). */
  leftDeliberately: boolean;
  setClientId: (clientId: string | null) => void;
  /** GET against the API with the key and, for an admin who picked one, `client_id`. */
  get: <T>(path: string, params?: Params, signal?: AbortSignal) => Promise<T>;
}

const AuthContext = createContext<AuthState | null>(null);

export function reasonOf(error: unknown): string {
  if (error instanceof ApiError) return error.detail ?? error.title;
  return error instanceof Error ? error.message : String(error);
}

/** The URL parameter holding an admin's chosen client on every page. */
export const CLIENT_PARAM = "client";

/** Why a key that authenticates still cannot use the dashboard, or null when it can. */
export function refusal(who: Me): string | null {
  if (who.scopes.includes("read")) return null;
  return (
    `This key (${who.key_prefix}…, client ${who.client_id}) has only the ${who.scopes.join(", ") || "no"} scope: ` +
    "it can send logs but not read them, and the dashboard only reads. Sign in with a key that has the read scope " +
    "(an admin can make one on the Keys page, or run: central-logger keys create --client-id " +
    `${who.client_id} --scopes ingest,read).`
  );
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [key, setKey] = useState<string | null>(() => session.key());
  const [me, setMe] = useState<Me | null>(null);
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const clientId = search.get(CLIENT_PARAM) || null;
  const [reason, setReason] = useState<string | null>(() => session.reason());
  const [restoring, setRestoring] = useState<boolean>(() => session.key() !== null);
  const [leftDeliberately, setLeftDeliberately] = useState(false);

  const signOut = useCallback(
    (why: string | null = null, deliberate = false) => {
      setLeftDeliberately(deliberate);
      session.clear();
      session.setReason(why);
      setKey(null);
      setMe(null);
      setReason(why);
      queryClient.clear();
    },
    [queryClient],
  );

  useEffect(() => {
    setUnauthorizedHandler((error) => signOut(reasonOf(error)));
    return () => setUnauthorizedHandler(null);
  }, [signOut]);

  // After a reload the key is in sessionStorage but `me` is not: ask again.
  useEffect(() => {
    if (!restoring || !key) return;
    let cancelled = false;
    apiGet<Me>("/api/v1/me", {}, { key })
      .then((who) => {
        if (cancelled) return;
        const refused = refusal(who);
        if (refused) signOut(refused);
        else setMe(who);
      })
      .catch((error: unknown) => {
        if (!cancelled && !(error instanceof ApiError && error.status === 401)) signOut(reasonOf(error));
      })
      .finally(() => {
        if (!cancelled) setRestoring(false);
      });
    return () => {
      cancelled = true;
    };
  }, [restoring, key, signOut]);

  const signIn = useCallback(
    async (candidate: string) => {
      const who = await apiGet<Me>("/api/v1/me", {}, { key: candidate, silent401: true });
      const refused = refusal(who);
      if (refused) throw new Error(refused);
      session.setKey(candidate);
      session.setReason(null);
      queryClient.clear();
      setKey(candidate);
      setMe(who);
      setReason(null);
      setLeftDeliberately(false);
    },
    [queryClient],
  );

  // Another client's cursors mean nothing here: a new choice starts at the first page.
  const setClientId = useCallback(
    (next: string | null) => {
      const params = new URLSearchParams(window.location.search);
      params.delete("after");
      if (next) params.set(CLIENT_PARAM, next);
      else params.delete(CLIENT_PARAM);
      const query = params.toString();
      navigate({ pathname: window.location.pathname, search: query ? `?${query}` : "" });
    },
    [navigate],
  );

  const effectiveClient = me?.is_admin ? clientId : null;

  const get = useCallback(
    <T,>(path: string, params: Params = {}, signal?: AbortSignal) => {
      if (!key) return Promise.reject(new ApiError(401, "Unauthorized", "Sign in first."));
      const withClient = effectiveClient ? { ...params, client_id: effectiveClient } : params;
      return apiGet<T>(path, withClient, { key, signal });
    },
    [key, effectiveClient],
  );

  const value = useMemo<AuthState>(
    () => ({
      key: restoring ? null : key,
      me,
      clientId: effectiveClient,
      reason,
      signIn,
      signOut,
      leftDeliberately,
      setClientId,
      get,
    }),
    [restoring, key, me, effectiveClient, reason, signIn, signOut, leftDeliberately, setClientId, get],
  );

  if (restoring) {
    return (
      <div className="boot" role="status" aria-live="polite">
        <span className="spinner" aria-hidden="true" /> Restoring your session…
      </div>
    );
  }
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthState {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}
