import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { ApiError, apiGet, setUnauthorizedHandler, type Params } from "../api/client";
import type { Me } from "../api/types";
import { session } from "./session";

interface AuthState {
  key: string | null;
  me: Me | null;
  /** The client an admin narrowed to; null means all clients (and always null for a tenant). */
  clientId: string | null;
  reason: string | null;
  signIn: (key: string) => Promise<void>;
  signOut: (reason?: string | null) => void;
  setClientId: (clientId: string | null) => void;
  /** GET against the API with the key and, for an admin who picked one, `client_id`. */
  get: <T>(path: string, params?: Params, signal?: AbortSignal) => Promise<T>;
}

const AuthContext = createContext<AuthState | null>(null);

export function reasonOf(error: unknown): string {
  if (error instanceof ApiError) return error.detail ?? error.title;
  return error instanceof Error ? error.message : String(error);
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [key, setKey] = useState<string | null>(() => session.key());
  const [me, setMe] = useState<Me | null>(null);
  const [clientId, setClientIdState] = useState<string | null>(() => session.clientId());
  const [reason, setReason] = useState<string | null>(() => session.reason());
  const [restoring, setRestoring] = useState<boolean>(() => session.key() !== null);

  const signOut = useCallback(
    (why: string | null = null) => {
      session.clear();
      session.setReason(why);
      setKey(null);
      setMe(null);
      setClientIdState(null);
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
        if (!cancelled) setMe(who);
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
      session.setKey(candidate);
      session.setReason(null);
      session.setClientId(null);
      queryClient.clear();
      setKey(candidate);
      setMe(who);
      setClientIdState(null);
      setReason(null);
    },
    [queryClient],
  );

  const setClientId = useCallback((next: string | null) => {
    session.setClientId(next);
    setClientIdState(next);
  }, []);

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
      setClientId,
      get,
    }),
    [restoring, key, me, effectiveClient, reason, signIn, signOut, setClientId, get],
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
