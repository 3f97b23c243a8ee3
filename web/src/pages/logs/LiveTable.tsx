import { memo, useEffect, useState } from "react";
import { Link } from "react-router";
import type { LogItem } from "../../api/types";
import { Empty } from "../../components/States";
import { StatusBadge } from "../../components/StatusBadge";
import { Time } from "../../components/Time";
import { formatCount, formatDuration } from "../../lib/format";
import { useLink } from "../../lib/links";
import type { LogFilters } from "./filters";
import { useLiveTail } from "./useLiveTail";

const LiveRow = memo(function LiveRow({ row, showClient, href }: { row: LogItem; showClient: boolean; href: string }) {
  return (
    <tr data-testid="live-row" data-id={row.id}>
      <td>
        <Link className="row-link" to={href}>
          <Time iso={row.executed_at} />
        </Link>
      </td>
      {showClient ? <td data-col="client_id">{row.client_id}</td> : null}
      <td data-col="status">
        <StatusBadge status={row.status} />
      </td>
      <td data-col="category">{row.category ?? <span className="muted">—</span>}</td>
      <td data-col="ticket_id">{row.ticket_id ?? <span className="muted">—</span>}</td>
      <td data-col="environment">{row.environment}</td>
      <td data-col="workflow_version">{row.workflow_version ?? <span className="muted">—</span>}</td>
      <td className="num">{formatDuration(row.execution_time_seconds)}</td>
    </tr>
  );
});

/** Scrolled away from the top: arrivals wait, counted, so the rows do not move under the reader. */
function useScrolledAway(): boolean {
  const [away, setAway] = useState(false);
  useEffect(() => {
    const check = () => setAway(window.scrollY > 120);
    window.addEventListener("scroll", check, { passive: true });
    return () => window.removeEventListener("scroll", check);
  }, []);
  return away;
}

/** Live mode of the Logs page: runs as they are stored, newest on top, the filters applied. */
export function LiveTable({ filters, showClient }: { filters: LogFilters; showClient: boolean }) {
  const [paused, setPaused] = useState(false);
  const scrolledAway = useScrolledAway();
  const { state, status, error } = useLiveTail(filters, true, paused || scrolledAway);
  const link = useLink();
  const waiting = state.pending.length + (paused || scrolledAway ? state.uncounted : 0);

  return (
    <section aria-label="Live runs">
      <div className="toolbar live-bar">
        <span className={`badge ${status === "live" ? "badge-ok" : status === "failed" ? "badge-bad" : "badge-warn"}`} data-testid="live-status">
          {status === "live" ? (paused ? "Paused" : "Live") : status === "failed" ? "Stopped" : status === "connecting" ? "Connecting…" : "Reconnecting…"}
        </span>
        <button type="button" className="button" onClick={() => setPaused((p) => !p)} data-testid="live-pause">
          {paused ? "Resume" : "Pause"}
        </button>
        {waiting > 0 ? (
          <button
            type="button"
            className="button button-primary"
            data-testid="live-new"
            onClick={() => {
              setPaused(false);
              window.scrollTo({ top: 0 });
            }}
          >
            {formatCount(waiting)} new run{waiting === 1 ? "" : "s"}
          </button>
        ) : null}
        {state.uncounted > 0 && !(paused || scrolledAway) ? (
          <span className="small muted" data-testid="live-missed">
            {formatCount(state.uncounted)} runs were not shown (the view fell behind)
          </span>
        ) : null}
        {state.gaps > 0 ? <span className="small muted">Reconnected: runs stored meanwhile may be missing</span> : null}
        <span className="small muted" data-testid="live-count">
          {formatCount(state.rows.length)} shown (at most 500)
        </span>
      </div>
      {error ? (
        <p role="alert" className="notice">
          The live view stopped: {error}
        </p>
      ) : null}
      {state.rows.length === 0 ? (
        <Empty title="Waiting for runs">New runs that match the filters appear here as they are stored.</Empty>
      ) : (
        <div className="table-wrap">
          <table className="table table-rows" data-testid="live-table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                {showClient ? <th scope="col">Client</th> : null}
                <th scope="col">Status</th>
                <th scope="col">Category</th>
                <th scope="col">Ticket</th>
                <th scope="col">Environment</th>
                <th scope="col">Version</th>
                <th scope="col" className="num">
                  Duration
                </th>
              </tr>
            </thead>
            <tbody>
              {state.rows.map((row) => (
                <LiveRow key={`${row.client_id}/${row.id}`} row={row} showClient={showClient} href={link(`/logs/${row.id}`)} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
