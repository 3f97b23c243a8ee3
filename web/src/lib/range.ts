import type { Params } from "../api/client";

/** The time range of the Overview and Categories pages, as kept in the URL. */
export type RangePreset = "24h" | "7d" | "30d" | "custom";

export interface RangeState {
  range: RangePreset;
  from: string | null;
  to: string | null;
  environment: string | null;
}

export const PRESETS: { value: RangePreset; label: string; days?: number }[] = [
  { value: "24h", label: "24 h", days: 1 },
  { value: "7d", label: "7 d", days: 7 },
  { value: "30d", label: "30 d", days: 30 },
  { value: "custom", label: "Custom" },
];

export const DEFAULT_RANGE: RangePreset = "7d";

export function rangeFromSearch(search: URLSearchParams): RangeState {
  const raw = search.get("range");
  const range = PRESETS.some((p) => p.value === raw) ? (raw as RangePreset) : DEFAULT_RANGE;
  return {
    range,
    from: search.get("from") || null,
    to: search.get("to") || null,
    environment: search.get("environment") || null,
  };
}

export function rangeToSearch(state: RangeState): URLSearchParams {
  const search = new URLSearchParams();
  if (state.range !== DEFAULT_RANGE) search.set("range", state.range);
  if (state.range === "custom") {
    if (state.from) search.set("from", state.from);
    if (state.to) search.set("to", state.to);
  }
  if (state.environment) search.set("environment", state.environment);
  return search;
}

/**
 * The metrics API parameters for a range: `days` for presets, `from`/`to` for a
 * custom range. A custom range missing an end falls back to `days`.
 */
export function rangeToParams(state: RangeState): Params {
  const params: Params = {};
  if (state.range === "custom" && (state.from || state.to)) {
    if (state.from) params.from = state.from;
    if (state.to) params.to = state.to;
  } else {
    params.days = PRESETS.find((p) => p.value === state.range)?.days ?? 7;
  }
  if (state.environment) params.environment = state.environment;
  return params;
}
