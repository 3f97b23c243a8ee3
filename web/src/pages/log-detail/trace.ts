import type { Json, JsonObject } from "../../api/types";

/** One step of `payload.trace`, normalised from whatever shape the workflow sent. */
export interface TraceStep {
  index: number;
  name: string;
  /** Seconds, or null when the step carries no usable duration. */
  duration: number | null;
  /** Seconds since the first step started, when known or derivable. */
  offset: number | null;
  status: string | null;
  input: Json | undefined;
  output: Json | undefined;
  error: Json | undefined;
  /** The step as sent, for anything the viewer does not know about. */
  raw: Json;
}

export interface ParsedTrace {
  steps: TraceStep[];
  /** The denominator of "share of the run": the run's time, else the steps' total. */
  total: number | null;
  /** Why the trace could not be read, or null when it is fine or absent. */
  problem: string | null;
  present: boolean;
}

const NAME_KEYS = ["name", "step", "step_name", "title", "label", "id", "type", "action", "tool"];
const SECONDS_KEYS = ["duration_seconds", "duration_s", "duration_sec", "elapsed_seconds", "seconds", "duration", "elapsed", "time"];
const MS_KEYS = ["duration_ms", "elapsed_ms", "ms", "latency_ms"];
const INPUT_KEYS = ["input", "inputs", "args", "arguments", "request", "params"];
const OUTPUT_KEYS = ["output", "outputs", "result", "results", "response", "return"];
const START_KEYS = ["started_at", "start_time", "start", "startedAt", "timestamp", "ts"];
const END_KEYS = ["ended_at", "end_time", "end", "finished_at", "endedAt"];

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function pick(obj: JsonObject, keys: string[]): Json | undefined {
  for (const k of keys) if (k in obj && obj[k] !== undefined) return obj[k];
  return undefined;
}

function toNumber(value: Json | undefined): number | null {
  if (typeof value === "number") return Number.isFinite(value) && value >= 0 ? value : null;
  if (typeof value === "string" && value.trim() !== "") {
    const n = Number(value);
    return Number.isFinite(n) && n >= 0 ? n : null;
  }
  return null;
}

function toTime(value: Json | undefined): number | null {
  if (typeof value === "string") {
    const t = new Date(value).getTime();
    return Number.isNaN(t) ? null : t / 1000;
  }
  return null;
}

function durationOf(obj: JsonObject): number | null {
  for (const k of MS_KEYS) {
    const n = toNumber(obj[k]);
    if (n !== null) return n / 1000;
  }
  for (const k of SECONDS_KEYS) {
    const n = toNumber(obj[k]);
    if (n !== null) return n;
  }
  const start = toTime(pick(obj, START_KEYS));
  const end = toTime(pick(obj, END_KEYS));
  if (start !== null && end !== null && end >= start) return end - start;
  return null;
}

function nameOf(obj: JsonObject, index: number): string {
  const v = pick(obj, NAME_KEYS);
  if (typeof v === "string" && v.trim()) return v;
  if (typeof v === "number") return String(v);
  return `Step ${index + 1}`;
}

/** Finds the list of steps: `trace` itself, or `trace.steps`/`trace.spans`, or an object of named steps. */
function stepsOf(trace: Json): Json[] | null {
  if (Array.isArray(trace)) return trace;
  if (isObject(trace)) {
    for (const k of ["steps", "spans", "events", "items"]) {
      const inner = trace[k];
      if (Array.isArray(inner)) return inner;
    }
    // {"classify": {...}, "respond": {...}}: named steps.
    const entries = Object.entries(trace);
    if (entries.length && entries.every(([, v]) => isObject(v))) {
      return entries.map(([name, v]) => ({ name, ...(v as JsonObject) }));
    }
  }
  return null;
}

export function parseTrace(payload: Json | undefined, runSeconds: number | null = null): ParsedTrace {
  const empty = (problem: string | null, present: boolean): ParsedTrace => ({ steps: [], total: null, problem, present });
  if (!isObject(payload) || !("trace" in payload) || payload.trace === null) return empty(null, false);
  const list = stepsOf(payload.trace);
  if (!list) return empty(`payload.trace is ${typeName(payload.trace)}, not a list of steps`, true);

  const starts: (number | null)[] = [];
  const steps: TraceStep[] = list.map((item, index) => {
    if (isObject(item)) {
      starts.push(toTime(pick(item, START_KEYS)));
      const status = pick(item, ["status", "state", "outcome"]);
      return {
        index,
        name: nameOf(item, index),
        duration: durationOf(item),
        offset: null,
        status: typeof status === "string" ? status : typeof status === "boolean" ? String(status) : null,
        input: pick(item, INPUT_KEYS),
        output: pick(item, OUTPUT_KEYS),
        error: pick(item, ["error", "exception", "message_error"]),
        raw: item,
      };
    }
    starts.push(null);
    return {
      index,
      name: typeof item === "string" && item ? item : `Step ${index + 1}`,
      duration: null,
      offset: null,
      status: null,
      input: undefined,
      output: undefined,
      error: undefined,
      raw: item,
    };
  });

  // Offsets: from start timestamps when every step has one, otherwise one after another.
  const known = starts.filter((s): s is number => s !== null);
  if (known.length === steps.length && known.length > 0) {
    const first = Math.min(...known);
    steps.forEach((s, i) => (s.offset = (starts[i] as number) - first));
  } else {
    let at = 0;
    let ok = true;
    for (const s of steps) {
      s.offset = ok ? at : null;
      if (s.duration === null) ok = false;
      else at += s.duration;
    }
  }

  const sum = steps.reduce((acc, s) => acc + (s.duration ?? 0), 0);
  const span = steps.reduce((acc, s) => Math.max(acc, (s.offset ?? 0) + (s.duration ?? 0)), 0);
  const total = runSeconds && runSeconds > 0 ? Math.max(runSeconds, span) : sum > 0 ? Math.max(sum, span) : null;
  return { steps, total, problem: null, present: true };
}

/** A step's share of the run, 0-1, or null. */
export function shareOf(step: TraceStep, total: number | null): number | null {
  if (step.duration === null || !total) return null;
  return Math.min(1, step.duration / total);
}

function typeName(value: Json): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}
