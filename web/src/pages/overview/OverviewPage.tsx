import { lazy, Suspense } from "react";
import { Link } from "react-router";
import type { Overview } from "../../api/types";
import { RangeControls } from "../../components/RangeControls";
import { RefreshControl, useRefreshInterval } from "../../components/RefreshControl";
import { Empty, ErrorState, Loading } from "../../components/States";
import { Time } from "../../components/Time";
import { browserZone, formatCount, formatDuration, formatPercent } from "../../lib/format";
import { logsOfRange, useLink } from "../../lib/links";
import { rangeToSearch } from "../../lib/range";
import { useEnvironments, useOverview, useRangeInUrl } from "./useOverview";

const OverviewCharts = lazy(() => import("./OverviewCharts"));

function Kpi({ id, label, value, raw, hint }: { id: string; label: string; value: string; raw: number | null; hint?: string }) {
  return (
    <div className="kpi" data-testid={`kpi-${id}`} data-value={raw ?? ""}>
      <div className="kpi-label">{label}</div>
      <div className="kpi-value">{value}</div>
      {hint ? <div className="kpi-hint">{hint}</div> : null}
    </div>
  );
}

function Kpis({ data }: { data: Overview }) {
  return (
    <div className="kpis">
      <Kpi id="runs" label="Runs" value={formatCount(data.total_runs)} raw={data.total_runs} />
      <Kpi
        id="success-rate"
        label="Success rate"
        value={formatPercent(data.success_rate)}
        raw={data.success_rate}
        hint={`${formatCount(data.successful_runs)} succeeded`}
      />
      <Kpi id="failures" label="Failures" value={formatCount(data.failed_runs)} raw={data.failed_runs} />
      <Kpi
        id="p95"
        label="p95 execution time"
        value={formatDuration(data.p95_execution_time_seconds)}
        raw={data.p95_execution_time_seconds}
        hint={`p50 ${formatDuration(data.p50_execution_time_seconds)} · avg ${formatDuration(data.avg_execution_time_seconds)}`}
      />
    </div>
  );
}

export default function OverviewPage() {
  const [range, setRange] = useRangeInUrl();
  const overview = useOverview(range, useRefreshInterval());
  const link = useLink();
  const environments = useEnvironments(range);
  const data = overview.data;

  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Overview</h1>
          {data ? (
            <p className="muted small">
              <Time iso={data.from} /> → <Time iso={data.to} /> · times in {browserZone()}
            </p>
          ) : null}
        </div>
        <div className="toolbar">
          <RangeControls key={range.range} state={range} onChange={setRange} environments={environments} />
          <RefreshControl updatedAt={overview.dataUpdatedAt} />
        </div>
      </header>

      {overview.isPending ? (
        <Loading label="Loading metrics…" />
      ) : overview.isError ? (
        <ErrorState error={overview.error} onRetry={() => overview.refetch()} />
      ) : data ? (
        <div className={overview.isFetching ? "refreshing" : undefined} aria-busy={overview.isFetching}>
          <Kpis data={data} />
          {data.total_runs === 0 ? (
            <Empty title="No runs in this range">
              Widen the range, pick another environment, or ship logs to <code>POST /api/v1/logs</code>.
            </Empty>
          ) : (
            <>
              <Suspense fallback={<Loading label="Loading charts…" />}>
                <OverviewCharts data={data} environment={range.environment} />
              </Suspense>
              <p className="small muted">
                <Link to={link(logsOfRange(data, range.environment))} data-testid="range-logs-link">
                  Runs of this range
                </Link>{" "}
                · <Link to={link(`/categories?${rangeToSearch(range).toString()}`)}>Categories of this range</Link>
              </p>
            </>
          )}
        </div>
      ) : null}
    </div>
  );
}
