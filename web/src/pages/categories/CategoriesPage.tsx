import { lazy, Suspense, useCallback, useMemo, useState } from "react";
import { Link, useNavigate } from "react-router";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import {
  createColumnHelper,
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  useReactTable,
  type SortingState,
} from "@tanstack/react-table";
import type { Categories, CategoryRow } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { RangeControls } from "../../components/RangeControls";
import { Empty, ErrorState, Loading } from "../../components/States";
import { Time } from "../../components/Time";
import { formatCount, formatDuration, formatPercent } from "../../lib/format";
import { logsOfRange, useLink } from "../../lib/links";
import { rangeToParams } from "../../lib/range";
import { RefreshControl, useRefreshInterval } from "../../components/RefreshControl";
import { useEnvironments, useRangeInUrl } from "../overview/useOverview";

const CategoriesChart = lazy(() => import("./CategoriesChart"));

/** How the metrics API names runs without a category; the logs API cannot filter on it. */
export const UNCATEGORIZED = "uncategorized";

/** The Logs page filtered to a category, within the range (and environment) the
 * Categories page counted, or null for the runs without one. */
export function categoryLink(
  category: string,
  range: { from: string; to: string } | null = null,
  environment: string | null = null,
): string | null {
  if (category === UNCATEGORIZED) return null;
  if (!range) return `/logs?category=${encodeURIComponent(category)}`;
  return logsOfRange(range, environment, { category });
}

const column = createColumnHelper<CategoryRow>();
const columnsFor = (linkTo: (category: string) => string | null) => [
  column.accessor("category", {
    header: "Category",
    cell: (c) => {
      const to = linkTo(c.getValue());
      return to ? (
        <Link to={to} data-testid="category-link">
          {c.getValue()}
        </Link>
      ) : (
        <span className="muted" title="Runs without a category; the Logs page cannot filter on a missing category">
          {c.getValue()}
        </span>
      );
    },
  }),
  column.accessor("runs", { header: "Runs", meta: { numeric: true }, cell: (c) => formatCount(c.getValue()) }),
  column.accessor("share", { header: "Share", meta: { numeric: true }, cell: (c) => formatPercent(c.getValue()) }),
  column.accessor("success_rate", { header: "Success rate", meta: { numeric: true }, cell: (c) => formatPercent(c.getValue()) }),
  column.accessor("failed_runs", { header: "Failed", meta: { numeric: true }, cell: (c) => formatCount(c.getValue()) }),
  column.accessor("avg_execution_time_seconds", { header: "Avg time", meta: { numeric: true }, cell: (c) => formatDuration(c.getValue()) }),
  column.accessor("p95_execution_time_seconds", { header: "p95 time", meta: { numeric: true }, cell: (c) => formatDuration(c.getValue()) }),
];

export default function CategoriesPage() {
  const [range, setRange] = useRangeInUrl();
  const environments = useEnvironments(range);
  const { get, clientId } = useAuth();
  const navigate = useNavigate();
  const params = rangeToParams(range);
  const query = useQuery({
    queryKey: ["categories", clientId, params],
    queryFn: ({ signal }) => get<Categories>("/api/v1/metrics/categories", params, signal),
    placeholderData: keepPreviousData,
    refetchInterval: useRefreshInterval(),
  });
  const link = useLink();
  const data = query.data;
  const linkTo = useCallback(
    (category: string) => {
      const to = categoryLink(category, data ?? null, range.environment);
      return to ? link(to) : null;
    },
    [data, range.environment, link],
  );
  const columns = useMemo(() => columnsFor(linkTo), [linkTo]);
  const [sorting, setSorting] = useState<SortingState>([]);
  const rows = useMemo(() => query.data?.categories ?? [], [query.data]);
  const table = useReactTable({
    data: rows,
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getRowId: (r) => r.category,
  });

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Categories</h1>
          {query.data ? (
            <p className="muted small">
              {formatCount(query.data.total_runs)} runs · <Time iso={query.data.from} /> → <Time iso={query.data.to} />
            </p>
          ) : null}
        </div>
        <div className="toolbar">
          <RangeControls key={range.range} state={range} onChange={setRange} environments={environments} />
          <RefreshControl updatedAt={query.dataUpdatedAt} />
        </div>
      </header>
      {query.isPending ? (
        <Loading label="Loading categories…" />
      ) : query.isError ? (
        <ErrorState error={query.error} onRetry={() => query.refetch()} />
      ) : rows.length === 0 ? (
        <Empty title="No runs in this range">Categories appear once runs with a category are logged.</Empty>
      ) : (
        <div className={query.isFetching ? "refreshing" : undefined}>
          <section className="card card-wide" aria-labelledby="per-category-title">
            <h2 id="per-category-title">Per category</h2>
            <Suspense fallback={<Loading label="Loading chart…" />}>
              <CategoriesChart
                rows={rows}
                onSelect={(c) => {
                  const to = linkTo(c);
                  if (to) navigate(to);
                }}
              />
            </Suspense>
          </section>
          <div className="table-wrap">
            <table className="table table-rows" data-testid="categories-table">
              <thead>
                {table.getHeaderGroups().map((g) => (
                  <tr key={g.id}>
                    {g.headers.map((h) => {
                      const numeric = (h.column.columnDef.meta as { numeric?: boolean } | undefined)?.numeric;
                      const sorted = h.column.getIsSorted();
                      return (
                        <th
                          key={h.id}
                          scope="col"
                          className={numeric ? "num" : undefined}
                          aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : "none"}
                        >
                          <button type="button" className="sort" onClick={h.column.getToggleSortingHandler()}>
                            {flexRender(h.column.columnDef.header, h.getContext())}
                            <span aria-hidden="true">{sorted === "asc" ? " ▲" : sorted === "desc" ? " ▼" : ""}</span>
                          </button>
                        </th>
                      );
                    })}
                  </tr>
                ))}
              </thead>
              <tbody>
                {table.getRowModel().rows.map((row) => (
                  <tr
                    key={row.id}
                    data-testid="category-row"
                    onClick={(e) => {
                      const to = linkTo(row.original.category);
                      if (to && !(e.target as HTMLElement).closest("a")) navigate(to);
                    }}
                  >
                    {row.getVisibleCells().map((cell) => (
                      <td
                        key={cell.id}
                        className={(cell.column.columnDef.meta as { numeric?: boolean } | undefined)?.numeric ? "num" : undefined}
                      >
                        {flexRender(cell.column.columnDef.cell, cell.getContext())}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </div>
  );
}
