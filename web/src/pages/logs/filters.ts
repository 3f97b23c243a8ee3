import type { Params } from "../../api/client";

/** Every filter of `GET /api/v1/logs`, kept in the URL under the API's own names. */
export const TEXT_FILTERS = [
  "q",
  "status",
  "category",
  "environment",
  "ticket_id",
  "workflow_version",
  "resolution_status",
] as const;
export const TIME_FILTERS = ["from", "to"] as const;
export const NUMBER_FILTERS = ["min_execution_time", "max_execution_time"] as const;

export type TextFilter = (typeof TEXT_FILTERS)[number];
export type TimeFilter = (typeof TIME_FILTERS)[number];
export type NumberFilter = (typeof NUMBER_FILTERS)[number];
export type FilterName = TextFilter | TimeFilter | NumberFilter;

export type Order = "desc" | "asc";
export const PAGE_SIZES = [25, 50, 100, 200] as const;
export const DEFAULT_PAGE_SIZE = 50;

export interface LogFilters {
  values: Partial<Record<FilterName, string>>;
  order: Order;
  pageSize: number;
}

export const ALL_FILTERS: FilterName[] = [...TEXT_FILTERS, ...TIME_FILTERS, ...NUMBER_FILTERS];

/** Reads the filters from the page's URL; unknown or invalid values are ignored. */
export function filtersFromSearch(search: URLSearchParams): LogFilters {
  const values: Partial<Record<FilterName, string>> = {};
  for (const name of TEXT_FILTERS) {
    const v = search.get(name)?.trim();
    if (v) values[name] = v;
  }
  for (const name of TIME_FILTERS) {
    const v = search.get(name)?.trim();
    if (v && !Number.isNaN(new Date(v).getTime())) values[name] = v;
  }
  for (const name of NUMBER_FILTERS) {
    const v = search.get(name)?.trim();
    if (v && Number.isFinite(Number(v)) && Number(v) >= 0) values[name] = v;
  }
  const order: Order = search.get("order") === "asc" ? "asc" : "desc";
  const size = Number(search.get("page_size"));
  const pageSize = Number.isInteger(size) && size >= 1 && size <= 500 ? size : DEFAULT_PAGE_SIZE;
  return { values, order, pageSize };
}

/** Writes filters to URL search params in a stable order; defaults are left out. */
export function filtersToSearch(filters: LogFilters): URLSearchParams {
  const search = new URLSearchParams();
  for (const name of ALL_FILTERS) {
    const v = filters.values[name];
    if (v) search.set(name, v);
  }
  if (filters.order !== "desc") search.set("order", filters.order);
  if (filters.pageSize !== DEFAULT_PAGE_SIZE) search.set("page_size", String(filters.pageSize));
  return search;
}

/** The API query for a page: the filters plus the cursor of that page, if any. */
export function filtersToParams(filters: LogFilters, cursor: string | null): Params {
  const params: Params = { ...filters.values, order: filters.order, page_size: filters.pageSize };
  if (cursor) params.cursor = cursor;
  return params;
}

export function activeFilterCount(filters: LogFilters): number {
  return ALL_FILTERS.filter((n) => filters.values[n]).length;
}

export function withFilter(filters: LogFilters, name: FilterName, value: string | null): LogFilters {
  const values = { ...filters.values };
  if (value && value.trim()) values[name] = value.trim();
  else delete values[name];
  return { ...filters, values };
}
