// The HTTP contract of docs/api.md, as TypeScript types.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface Me {
  client_id: string | null;
  is_admin: boolean;
  scopes: string[];
  key_prefix?: string | null;
}

export interface ClientList {
  items: { client_id: string }[];
}

export interface LogItem {
  id: string;
  client_id: string;
  environment: string;
  workflow_version: string | null;
  ticket_id: string | null;
  executed_at: string;
  execution_time_seconds: number | null;
  status: string;
  category: string | null;
  resolution_status: string | null;
  metrics: JsonObject | null;
  created_at: string;
}

export interface LogDetail extends LogItem {
  payload: JsonObject | null;
}

export interface LogPage {
  items: LogItem[];
  page: number;
  page_size: number;
  total: number;
  total_exact: boolean;
  next_cursor: string | null;
}

export interface Overview {
  from: string;
  to: string;
  total_runs: number;
  successful_runs: number;
  failed_runs: number;
  success_rate: number | null;
  avg_execution_time_seconds: number | null;
  p50_execution_time_seconds: number | null;
  p95_execution_time_seconds: number | null;
  p99_execution_time_seconds: number | null;
  by_status: { status: string; runs: number }[];
  by_environment: { environment: string; runs: number; failed_runs: number }[];
  bucket: "hour" | "day" | string;
  series: { start: string; runs: number; failed_runs: number }[];
}

export interface CategoryRow {
  category: string;
  runs: number;
  successful_runs: number;
  failed_runs: number;
  success_rate: number | null;
  avg_execution_time_seconds: number | null;
  p95_execution_time_seconds: number | null;
  share: number | null;
}

export interface Categories {
  from: string;
  to: string;
  total_runs: number;
  categories: CategoryRow[];
}

export interface ProblemField {
  field: string;
  reason: string;
}
