import { useEffect, useMemo, useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useLocation, useNavigate, useSearchParams } from "react-router";
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable } from "@tanstack/react-table";
import type { LogItem } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { Empty, ErrorState, Loading } from "../../components/States";
import { StatusBadge } from "../../components/StatusBadge";
import { Time } from "../../components/Time";
import { browserZone, formatCount, formatDuration, isoToLocalInput, localInputToIso } from "../../lib/format";
import { currentCursor, hasPrevious, pageNumber, pop, push, stackFromSearch, stackToSearch } from "./cursorStack";
import {
  activeFilterCount,
  ALL_FILTERS,
  filtersFromSearch,
  filtersToSearch,
  PAGE_SIZES,
  withFilter,
  type FilterName,
  type LogFilters,
} from "./filters";
import { ExportButton } from "./ExportButton";
import { LiveTable } from "./LiveTable";
import { RetentionNote } from "./RetentionNote";
import { useLogs } from "./useLogs";
import { useLogValues, type PickListField } from "./useLogValues";
import { useLink, withCarried } from "../../lib/links";

const LABELS: Record<FilterName, string> = {
  q: "Search",
  status: "Status",
  category: "Category",
  environment: "Environment",
  ticket_id: "Ticket",
  workflow_version: "Version",
  resolution_status: "Resolution",
  from: "From",
  to: "To",
  min_execution_time: "Min seconds",
  max_execution_time: "Max seconds",
};

const column = createColumnHelper<LogItem>();

function useColumns(detailSearch: string, showClient: boolean, link: (to: string) => string) {
  return useMemo(
    () => [
      column.accessor("executed_at", {
        header: "Time",
        cell: (c) => (
          <Link className="row-link" to={link(`/logs/${c.row.original.id}`)} state={{ back: detailSearch }}>
            <Time iso={c.getValue()} />
          </Link>
        ),
      }),
      ...(showClient ? [column.accessor("client_id", { header: "Client" })] : []),
      column.accessor("status", { header: "Status", cell: (c) => <StatusBadge status={c.getValue()} /> }),
      column.accessor("category", { header: "Category", cell: (c) => c.getValue() ?? <span className="muted">—</span> }),
      column.accessor("ticket_id", { header: "Ticket", cell: (c) => c.getValue() ?? <span className="muted">—</span> }),
      column.accessor("environment", { header: "Environment" }),
      column.accessor("workflow_version", { header: "Version", cell: (c) => c.getValue() ?? <span className="muted">—</span> }),
      column.accessor("execution_time_seconds", {
        header: "Duration",
        meta: { numeric: true },
        cell: (c) => formatDuration(c.getValue()),
      }),
    ],
    [detailSearch, showClient, link],
  );
}

/** A filter whose values come from the tenant's logs: a text box whose list (the
 *  browser's own, from a datalist) offers every value in use; any text still goes. */
function PickList({
  name,
  value,
  onChange,
}: {
  name: PickListField;
  value: string;
  onChange: (value: string) => void;
}) {
  const values = useLogValues(name);
  const listId = `${name}-values`;
  return (
    <label className="field">
      <span>{LABELS[name]}</span>
      <input
        name={name}
        list={listId}
        value={value}
        autoComplete="off"
        placeholder={values.data?.values.length ? "Any (pick or type)" : undefined}
        onChange={(e) => onChange(e.target.value)}
      />
      <datalist id={listId} data-testid={`values-${name}`}>
        {(values.data?.values ?? []).map((v) => (
          <option key={v} value={v} />
        ))}
      </datalist>
    </label>
  );
}

/** One box: ticket ids by prefix, and words of errors, step names and payloads. */
function SearchBox({ filters, onApply }: { filters: LogFilters; onApply: (f: LogFilters) => void }) {
  const applied = filters.values.q ?? "";
  const [draft, setDraft] = useState(applied);
  // The box follows the URL (back, forward, a link with q).
  useEffect(() => setDraft(applied), [applied]);
  return (
    <form
      className="search-box"
      role="search"
      onSubmit={(e) => {
        e.preventDefault();
        onApply(withFilter(filters, "q", draft));
      }}
    >
      <input
        type="search"
        name="q"
        aria-label="Search runs"
        placeholder="Search: a ticket id (or its start), or words of an error, a step, a payload"
        value={draft}
        maxLength={255}
        onChange={(e) => setDraft(e.target.value)}
        data-testid="search-input"
      />
      <button type="submit" className="button button-primary">
        Search
      </button>
      {filters.values.q ? (
        <button
          type="button"
          className="button button-ghost"
          onClick={() => {
            setDraft("");
            onApply(withFilter(filters, "q", null));
          }}
        >
          Clear search
        </button>
      ) : null}
    </form>
  );
}

function FilterForm({ filters, onApply }: { filters: LogFilters; onApply: (f: LogFilters) => void }) {
  const initial = () => {
    const draft: Record<string, string> = {};
    for (const n of ALL_FILTERS) {
      const v = filters.values[n] ?? "";
      draft[n] = n === "from" || n === "to" ? isoToLocalInput(v) : v;
    }
    return draft;
  };
  const [draft, setDraft] = useState<Record<string, string>>(initial);

  function submit(event: FormEvent) {
    event.preventDefault();
    const values: LogFilters["values"] = {};
    for (const n of ALL_FILTERS) {
      const raw = (draft[n] ?? "").trim();
      if (!raw) continue;
      const v = n === "from" || n === "to" ? localInputToIso(raw) : raw;
      if (v) values[n] = v;
    }
    onApply({ ...filters, values });
  }

  const field = (name: FilterName, type = "text", extra: Record<string, string> = {}) => (
    <label className="field" key={name}>
      <span>{LABELS[name]}</span>
      <input
        name={name}
        type={type}
        value={draft[name] ?? ""}
        onChange={(e) => setDraft({ ...draft, [name]: e.target.value })}
        {...extra}
      />
    </label>
  );

  const pick = (name: PickListField) => (
    <PickList key={name} name={name} value={draft[name] ?? ""} onChange={(v) => setDraft({ ...draft, [name]: v })} />
  );

  const active = activeFilterCount(filters);
  return (
    <details className="filters-box" open={wideScreen()} data-testid="filters-box">
      <summary>
        Filters{active ? ` (${active})` : ""}
      </summary>
    <form className="filters" onSubmit={submit} aria-label="Filters">
      {pick("status")}
      {pick("category")}
      {pick("environment")}
      {field("ticket_id")}
      {pick("workflow_version")}
      {pick("resolution_status")}
      {field("from", "datetime-local")}
      {field("to", "datetime-local")}
      {field("min_execution_time", "number", { min: "0", step: "any" })}
      {field("max_execution_time", "number", { min: "0", step: "any" })}
      <div className="filters-actions">
        <button type="submit" className="button button-primary">
          Apply filters
        </button>
        <button
          type="button"
          className="button button-ghost"
          onClick={() => {
            setDraft({});
            onApply({ ...filters, values: {} });
          }}
        >
          Clear
        </button>
      </div>
    </form>
    </details>
  );
}

/** The filter form starts open where it leaves room for the rows (not on a phone). */
function wideScreen(): boolean {
  return typeof window === "undefined" || !window.matchMedia || !window.matchMedia("(max-width: 700px)").matches;
}

export default function LogsPage() {
  const [search, setSearch] = useSearchParams();
  const navigate = useNavigate();
  const location = useLocation();
  const filters = filtersFromSearch(search);
  const stack = stackFromSearch(search);
  const logs = useLogs(filters, currentCursor(stack));
  const { me, clientId } = useAuth();
  const link = useLink();
  const columns = useColumns(location.search, Boolean(me?.is_admin && !clientId), link);
  const data = logs.data;
  const items = useMemo(() => data?.items ?? [], [data]);
  const table = useReactTable({ data: items, columns, getCoreRowModel: getCoreRowModel(), getRowId: (r) => r.id });

  // New filters restart at page 1; the admin's client stays.
  const apply = (next: LogFilters) => {
    const nextSearch = withCarried(filtersToSearch(next), search);
    if (search.get("live") === "1") nextSearch.set("live", "1"); // new filters, still live
    setSearch(nextSearch);
  };
  const filterKey = filtersToSearch({ ...filters, order: "desc", pageSize: 50 }).toString();
  const active = activeFilterCount(filters);

  const goNext = () => data?.next_cursor && setSearch(stackToSearch(search, push(stack, data.next_cursor)));
  const goPrevious = () => setSearch(stackToSearch(search, pop(stack)));
  const goFirst = () => setSearch(stackToSearch(search, { cursors: [] }));

  const start = (pageNumber(stack) - 1) * filters.pageSize;
  // Live mode is kept in the URL (`live=1`), beside the filters it applies.
  const live = search.get("live") === "1";
  const queryClient = useQueryClient();
  const setLive = (on: boolean) => {
    // Back from live: the list is read anew (it has grown meanwhile).
    if (!on) void queryClient.invalidateQueries({ queryKey: ["logs"] });
    const next = new URLSearchParams(search);
    if (on) next.set("live", "1");
    else next.delete("live");
    setSearch(next);
  };
  const showClient = Boolean(me?.is_admin && !clientId);
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Logs</h1>
          <p className="muted small">
            {live ? (
              <span>Live: runs as they are stored</span>
            ) : data ? (
              <span data-testid="logs-total">
                {data.total_exact ? formatCount(data.total) : `${formatCount(data.total)}+`} matching run{data.total === 1 ? "" : "s"}
              </span>
            ) : null}
            {active ? ` · ${active} filter${active === 1 ? "" : "s"}` : ""} · times in {browserZone()}
          </p>
        </div>
        <div className="toolbar">
          <button
            type="button"
            className={`button${live ? " button-primary" : ""}`}
            aria-pressed={live}
            data-testid="live-toggle"
            onClick={() => setLive(!live)}
          >
            {live ? "Live ●" : "Live"}
          </button>
          <ExportButton filters={filters} />
          <label className="inline-field">
            Order
            <select
              value={filters.order}
              onChange={(e) => apply({ ...filters, order: e.target.value === "asc" ? "asc" : "desc" })}
            >
              <option value="desc">Newest first</option>
              <option value="asc">Oldest first</option>
            </select>
          </label>
          <label className="inline-field">
            Per page
            <select value={filters.pageSize} onChange={(e) => apply({ ...filters, pageSize: Number(e.target.value) })}>
              {[...new Set([...PAGE_SIZES, filters.pageSize])].sort((a, b) => a - b).map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        </div>
      </header>

      <RetentionNote from={filters.values.from} />

      <SearchBox filters={filters} onApply={apply} />

      <FilterForm key={filterKey} filters={filters} onApply={apply} />

      {live ? (
        <LiveTable filters={filters} showClient={showClient} />
      ) : logs.isPending ? (
        <Loading label="Loading logs…" />
      ) : logs.isError ? (
        <ErrorState error={logs.error} onRetry={() => void logs.refetch()} />
      ) : items.length === 0 ? (
        <Empty title={active ? "No runs match these filters" : "No runs yet"}>
          {active ? (
            <button type="button" className="button" onClick={() => apply({ ...filters, values: {} })}>
              Clear filters
            </button>
          ) : (
            <>Ship a log to <code>POST /api/v1/logs</code> and it shows up here.</>
          )}
          {hasPrevious(stack) ? (
            <button type="button" className="button" onClick={goFirst}>
              Back to the first page
            </button>
          ) : null}
        </Empty>
      ) : (
        <>
          <div className={`table-wrap${logs.isFetching ? " refreshing" : ""}`} aria-busy={logs.isFetching}>
            <table className="table table-rows" data-testid="logs-table">
              <thead>
                {table.getHeaderGroups().map((g) => (
                  <tr key={g.id}>
                    {g.headers.map((h) => (
                      <th key={h.id} scope="col" className={(h.column.columnDef.meta as { numeric?: boolean } | undefined)?.numeric ? "num" : undefined}>
                        {flexRender(h.column.columnDef.header, h.getContext())}
                      </th>
                    ))}
                  </tr>
                ))}
              </thead>
              <tbody>
                {table.getRowModel().rows.map((row) => (
                  <tr
                    key={row.id}
                    data-testid="log-row"
                    data-id={row.id}
                    onClick={(e) => {
                      if ((e.target as HTMLElement).closest("a")) return;
                      navigate(link(`/logs/${row.id}`), { state: { back: location.search } });
                    }}
                  >
                    {row.getVisibleCells().map((cell) => (
                      <td
                        key={cell.id}
                        data-col={cell.column.id}
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
          <nav className="pager" aria-label="Pages">
            <button type="button" className="button" onClick={goFirst} disabled={!hasPrevious(stack)} aria-label="First page">
              « First
            </button>
            <button type="button" className="button" onClick={goPrevious} disabled={!hasPrevious(stack)} aria-label="Previous page">
              ‹ Previous
            </button>
            <span className="pager-info" data-testid="page-info" aria-live="polite">
              Page {pageNumber(stack)} · rows {formatCount(start + 1)}–{formatCount(start + items.length)}
            </span>
            <button type="button" className="button" onClick={goNext} disabled={!data?.next_cursor} aria-label="Next page">
              Next ›
            </button>
          </nav>
        </>
      )}
    </div>
  );
}
