import { useEffect, useRef, useState } from "react";
import { fetchEventSource } from "@microsoft/fetch-event-source";
import { API_KEY_HEADER, buildUrl, toApiError } from "../../api/client";
import type { LogItem } from "../../api/types";
import { reasonOf, useAuth } from "../../auth/AuthContext";
import type { LogFilters } from "./filters";
import { arrive, EMPTY_LIVE, release, type LiveState } from "./liveBuffer";

export type LiveStatus = "connecting" | "live" | "reconnecting" | "failed";

/** An error the stream must not retry (a bad filter, a key without the right): shown. */
class Fatal extends Error {}

/** GET /api/v1/logs/stream with the page's filters, through a fetch-based SSE client
 * (the key goes in its header; EventSource could only put it in the URL). Arrivals are
 * gathered in a ref and folded into React state once per animation frame, so hundreds a
 * second cost one render a frame; `held` (paused, or scrolled away from the top) keeps
 * them aside, counted, until released. Reconnects resume with Last-Event-ID. */
export function useLiveTail(filters: LogFilters, enabled: boolean, held: boolean) {
  const { key, me, clientId } = useAuth();
  const [state, setState] = useState<LiveState>(EMPTY_LIVE);
  const [status, setStatus] = useState<LiveStatus>("connecting");
  const [error, setError] = useState<string | null>(null);
  const incoming = useRef<LogItem[]>([]);
  const missed = useRef(0);
  const gaps = useRef(0);
  const heldRef = useRef(held);
  heldRef.current = held;

  const params = { ...filters.values, client_id: me?.is_admin ? clientId : null };
  const url = buildUrl("/api/v1/logs/stream", params);

  useEffect(() => {
    if (!enabled || !key) return;
    const controller = new AbortController();
    setState(EMPTY_LIVE);
    setStatus("connecting");
    setError(null);
    void fetchEventSource(url, {
      headers: { [API_KEY_HEADER]: key },
      signal: controller.signal,
      openWhenHidden: true,
      async onopen(response) {
        if (response.ok) return;
        const problem = await toApiError(response);
        if (response.status === 429 || response.status >= 500) throw new Error(reasonOf(problem));
        throw new Fatal(reasonOf(problem));
      },
      onmessage(message) {
        if (message.event === "ready") setStatus("live");
        else if (message.event === "log") incoming.current.push(JSON.parse(message.data) as LogItem);
        else if (message.event === "missed") missed.current += (JSON.parse(message.data) as { missed: number }).missed;
        else if (message.event === "gap") gaps.current += 1;
      },
      onclose() {
        // The service stopped (`bye`) or the connection ended: resume elsewhere.
        throw new Error("the stream ended");
      },
      onerror(cause) {
        if (cause instanceof Fatal) {
          setStatus("failed");
          setError(cause.message);
          throw cause;
        }
        setStatus("reconnecting");
        return 2000;
      },
    }).catch(() => undefined);
    return () => controller.abort();
  }, [enabled, key, url]);

  // One render per frame at most, whatever the arrival rate.
  useEffect(() => {
    if (!enabled) return;
    let frame = 0;
    const tick = () => {
      if (incoming.current.length || missed.current || gaps.current) {
        const arrivals = incoming.current;
        const lost = missed.current;
        const holes = gaps.current;
        incoming.current = [];
        missed.current = 0;
        gaps.current = 0;
        setState((s) => {
          const next = arrive(s, arrivals, heldRef.current, lost);
          return holes ? { ...next, gaps: next.gaps + holes } : next;
        });
      }
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(frame);
  }, [enabled]);

  useEffect(() => {
    if (!held) setState((s) => release(s));
  }, [held]);

  return { state, status, error };
}
