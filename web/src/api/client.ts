import type { ProblemField } from "./types";

/** An HTTP error carrying the RFC 9457 problem document the service sent. */
export class ApiError extends Error {
  readonly status: number;
  readonly title: string;
  readonly detail: string | null;
  readonly errors: ProblemField[];
  readonly retryAfter: string | null;

  constructor(
    status: number,
    title: string,
    detail: string | null,
    errors: ProblemField[] = [],
    retryAfter: string | null = null,
  ) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = "ApiError";
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.errors = errors;
    this.retryAfter = retryAfter;
  }
}

export const API_KEY_HEADER = "X-API-Key";

export type Params = Record<string, string | number | boolean | null | undefined>;

/** Builds `path?query`, dropping empty values; keys are kept in a stable order. */
export function buildUrl(path: string, params: Params = {}): string {
  const search = new URLSearchParams();
  for (const key of Object.keys(params).sort()) {
    const value = params[key];
    if (value === undefined || value === null || value === "") continue;
    search.set(key, String(value));
  }
  const query = search.toString();
  return query ? `${path}?${query}` : path;
}

/** Turns a non-2xx response into an ApiError, reading the problem document when there is one. */
export async function toApiError(response: Response): Promise<ApiError> {
  let title = response.statusText || `HTTP ${response.status}`;
  let detail: string | null = null;
  let errors: ProblemField[] = [];
  try {
    const body: unknown = await response.json();
    if (body && typeof body === "object") {
      const b = body as Record<string, unknown>;
      if (typeof b.title === "string") title = b.title;
      if (typeof b.detail === "string") detail = b.detail;
      else if (Array.isArray(b.detail)) {
        // FastAPI's default validation shape, in case a route slips through.
        detail = b.detail
          .map((d) => (d && typeof d === "object" && "msg" in d ? String((d as { msg: unknown }).msg) : String(d)))
          .join("; ");
      }
      if (Array.isArray(b.errors)) errors = b.errors as ProblemField[];
    }
  } catch {
    // Not JSON: keep the status text.
  }
  return new ApiError(response.status, title, detail, errors, response.headers.get("Retry-After"));
}

type UnauthorizedHandler = (error: ApiError) => void;
let onUnauthorized: UnauthorizedHandler | null = null;

/** The auth layer registers what to do on any 401 (go back to sign-in with the reason). */
export function setUnauthorizedHandler(handler: UnauthorizedHandler | null): void {
  onUnauthorized = handler;
}

export interface RequestOptions {
  key: string;
  signal?: AbortSignal;
  /** Do not trigger the global 401 handler (sign-in checks a candidate key itself). */
  silent401?: boolean;
}

export async function apiGet<T>(path: string, params: Params, options: RequestOptions): Promise<T> {
  let response: Response;
  try {
    response = await fetch(buildUrl(path, params), {
      headers: { [API_KEY_HEADER]: options.key, Accept: "application/json" },
      signal: options.signal,
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    throw new ApiError(0, "Network error", "The service could not be reached.");
  }
  if (!response.ok) {
    const error = await toApiError(response);
    if (error.status === 401 && !options.silent401 && onUnauthorized) onUnauthorized(error);
    throw error;
  }
  return (await response.json()) as T;
}

/** POST, PUT or DELETE with a JSON body; errors as in apiGet. A 204 yields undefined. */
export async function apiSend<T>(
  method: "POST" | "PUT" | "DELETE",
  path: string,
  body: unknown,
  options: RequestOptions,
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        [API_KEY_HEADER]: options.key,
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: options.signal,
    });
  } catch (cause) {
    if (cause instanceof DOMException && cause.name === "AbortError") throw cause;
    throw new ApiError(0, "Network error", "The service could not be reached.");
  }
  if (!response.ok) {
    const error = await toApiError(response);
    if (error.status === 401 && !options.silent401 && onUnauthorized) onUnauthorized(error);
    throw error;
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}
