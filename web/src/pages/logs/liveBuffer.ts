import type { LogItem } from "../../api/types";

/** Rows the live view renders at most: newer ones push the oldest out. */
export const MAX_LIVE_ROWS = 500;

export interface LiveState {
  /** Shown, newest first. */
  rows: LogItem[];
  /** Arrived while paused (or scrolled away), newest first, not shown yet. */
  pending: LogItem[];
  /** Runs that arrived while paused beyond what `pending` keeps, plus what the service
   * said it dropped (`missed` events). */
  uncounted: number;
  /** A `gap` or a reconnect: runs may be missing between the shown ones. */
  gaps: number;
}

export const EMPTY_LIVE: LiveState = { rows: [], pending: [], uncounted: 0, gaps: 0 };

/** One animation frame's arrivals (oldest first, as they came) folded into the state:
 * on top when live, aside when held. Rendering once per frame, whatever the rate. */
export function arrive(state: LiveState, arrivals: LogItem[], held: boolean, missed = 0): LiveState {
  if (arrivals.length === 0 && missed === 0) return state;
  const newestFirst = arrivals.slice().reverse();
  if (held) {
    const pending = [...newestFirst, ...state.pending];
    const kept = pending.slice(0, MAX_LIVE_ROWS);
    return { ...state, pending: kept, uncounted: state.uncounted + missed + (pending.length - kept.length) };
  }
  return { ...state, rows: [...newestFirst, ...state.rows].slice(0, MAX_LIVE_ROWS), uncounted: state.uncounted + missed };
}

/** Resume: what was held goes on top. */
export function release(state: LiveState): LiveState {
  if (state.pending.length === 0) return state;
  return { ...state, rows: [...state.pending, ...state.rows].slice(0, MAX_LIVE_ROWS), pending: [] };
}

/** "N new runs": what is waiting to be shown. */
export function waiting(state: LiveState): number {
  return state.pending.length;
}
