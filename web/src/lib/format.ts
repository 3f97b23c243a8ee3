// Number, duration and time formatting shared by every page.

const DASH = "—";

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function formatCount(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return integer.format(value);
}

/** A 0-1 fraction as a percentage with one decimal: 0.8 -> "80.0%". */
export function formatPercent(fraction: number | null | undefined, digits = 1): string {
  if (fraction === null || fraction === undefined || !Number.isFinite(fraction)) return DASH;
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** Seconds as a short human duration: 0.0042 -> "4 ms", 5.2 -> "5.20 s", 125 -> "2 min 5 s". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return DASH;
  if (seconds < 0) return DASH;
  if (seconds === 0) return "0 s";
  if (seconds < 1) {
    const ms = seconds * 1000;
    return ms < 10 ? `${ms.toFixed(1).replace(/\.0$/, "")} ms` : `${Math.round(ms)} ms`;
  }
  if (seconds < 60) return `${seconds.toFixed(2)} s`;
  if (seconds < 3600) {
    const m = Math.floor(seconds / 60);
    const s = Math.round(seconds - m * 60);
    return s === 60 ? `${m + 1} min` : s ? `${m} min ${s} s` : `${m} min`;
  }
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds - h * 3600) / 60);
  return m ? `${h} h ${m} min` : `${h} h`;
}

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * The exact UTC value of an RFC 3339 timestamp. A value already in UTC keeps its
 * full precision (microseconds included); others are converted.
 */
export function exactUtc(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const utc = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:Z|[+-]00:?00)$/i.exec(iso.trim());
  if (utc) return `${utc[1]}T${utc[2]}Z`;
  const date = parse(iso);
  return date ? date.toISOString() : iso;
}

const localFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
});

const shortFormats = {
  hour: new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }),
  // Daily buckets are UTC days: label them as such, or west of UTC each bar shows the day before.
  day: new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" }),
};

/** A timestamp in the browser's zone. */
export function formatLocal(iso: string | null | undefined): string {
  const date = parse(iso);
  return date ? localFormat.format(date) : iso ? iso : DASH;
}

/** A chart axis label for the start of a bucket (hours in local time, days as UTC days). */
export function formatBucket(iso: string, bucket: string): string {
  const date = parse(iso);
  if (!date) return iso;
  return bucket === "hour" ? shortFormats.hour.format(date) : shortFormats.day.format(date);
}

/** The browser's zone name, for labels like "times in Europe/Paris". */
export function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
  } catch {
    return "local time";
  }
}

/** `<input type="datetime-local">` value (local wall time) -> RFC 3339 UTC, or null. */
export function localInputToIso(value: string): string | null {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** RFC 3339 -> `<input type="datetime-local">` value in the browser's zone. */
export function isoToLocalInput(iso: string | null | undefined): string {
  const date = parse(iso);
  if (!date) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
