/** Auto-refresh of the Overview and Categories pages, kept in the URL as `refresh`. */
export const REFRESH_PARAM = "refresh";

export const REFRESH_CHOICES: { value: string; label: string; ms: number | false }[] = [
  { value: "", label: "Off", ms: false },
  { value: "30s", label: "30 s", ms: 30_000 },
  { value: "1m", label: "1 min", ms: 60_000 },
  { value: "5m", label: "5 min", ms: 300_000 },
];

export function refreshFromSearch(search: URLSearchParams): { value: string; ms: number | false } {
  const raw = search.get(REFRESH_PARAM) ?? "";
  const choice = REFRESH_CHOICES.find((c) => c.value === raw) ?? REFRESH_CHOICES[0];
  return { value: choice.value, ms: choice.ms };
}
