import { Link, useLocation, useParams } from "react-router";
import { useQuery } from "@tanstack/react-query";
import type { JsonObject, LogDetail } from "../../api/types";
import { useAuth } from "../../auth/AuthContext";
import { CopyButton, JsonViewer } from "../../components/JsonViewer";
import { ErrorState, Loading } from "../../components/States";
import { StatusBadge } from "../../components/StatusBadge";
import { Time } from "../../components/Time";
import { formatDuration } from "../../lib/format";
import { useLink } from "../../lib/links";
import { parseTrace } from "./trace";
import { RunSpan, TraceView } from "./TraceTree";

function Fact({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd>{children ?? <span className="muted">—</span>}</dd>
    </div>
  );
}

export { TraceView } from "./TraceTree";

/** Log ids are UUIDs; anything else is answered here, without asking the service. */
export const LOG_ID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export default function LogDetailPage() {
  const { id = "" } = useParams();
  const { get, clientId } = useAuth();
  const location = useLocation();
  const link = useLink();
  const back = (location.state as { back?: string } | null)?.back ?? "";
  const valid = LOG_ID.test(id);
  const log = useQuery({
    queryKey: ["log", clientId, id],
    queryFn: ({ signal }) => get<LogDetail>(`/api/v1/logs/${encodeURIComponent(id)}`, {}, signal),
    enabled: valid,
  });

  const header = (
    <nav className="crumbs" aria-label="Breadcrumb">
      <Link to={back ? `/logs${back}` : link("/logs")}>← Logs</Link>
    </nav>
  );
  if (!valid) {
    return (
      <div className="page">
        {header}
        <div className="state state-error" role="alert" data-testid="error-state">
          <h1 className="state-title">That is not a log id</h1>
          <p className="state-body">
            Log ids look like <code>0190c6e2-8b1a-7c3e-9f00-1a2b3c4d5e6f</code>; this address has <code>{id}</code>.
          </p>
          <Link to={link("/logs")}>Go to the logs</Link>
        </div>
      </div>
    );
  }
  if (log.isPending) return <div className="page">{header}<h1 className="sr-only">Run</h1><Loading label="Loading the run…" /></div>;
  if (log.isError) return <div className="page">{header}<ErrorState heading error={log.error} onRetry={() => void log.refetch()} /></div>;

  const d = log.data;
  // The contract types these as objects of unknown values; parsed from JSON, they hold JSON.
  const payload = (d.payload ?? undefined) as JsonObject | undefined;
  const metrics = (d.metrics ?? undefined) as JsonObject | undefined;
  const trace = parseTrace(payload, d.execution_time_seconds);
  return (
    <div className="page">
      {header}
      <header className="page-head">
        <div>
          <h1>
            Run <code className="id">{d.id}</code> <CopyButton text={d.id} label="Copy id" />
          </h1>
          <p className="muted small">
            <StatusBadge status={d.status} /> · <Time iso={d.executed_at} /> · {formatDuration(d.execution_time_seconds)}
          </p>
        </div>
      </header>

      <section className="card">
        <dl className="facts" data-testid="facts">
          <Fact label="Status"><StatusBadge status={d.status} /></Fact>
          <Fact label="Executed at"><Time iso={d.executed_at} /></Fact>
          <Fact label="Duration">{formatDuration(d.execution_time_seconds)}</Fact>
          <Fact label="Client">{d.client_id}</Fact>
          <Fact label="Environment">{d.environment}</Fact>
          <Fact label="Version">{d.workflow_version}</Fact>
          <Fact label="Category">
            {d.category ? <Link to={link(`/logs?category=${encodeURIComponent(d.category)}`)}>{d.category}</Link> : null}
          </Fact>
          <Fact label="Ticket">
            {d.ticket_id ? (
              <Link to={link(`/logs?ticket_id=${encodeURIComponent(d.ticket_id)}`)} data-testid="ticket-link" title="Other runs of this ticket">
                {d.ticket_id} · other runs
              </Link>
            ) : null}
          </Fact>
          <Fact label="Resolution">{d.resolution_status}</Fact>
          <Fact label="Received"><Time iso={d.created_at} /></Fact>
        </dl>
      </section>

      <section className="card" aria-labelledby="trace-title">
        <h2 id="trace-title">Trace {trace.steps.length ? <span className="muted small">· {trace.steps.length} steps</span> : null}</h2>
        <RunSpan payload={payload} />
        <TraceView trace={trace} />
      </section>

      <div className="grid">
        <section className="card">
          <JsonViewer title="Metrics" value={metrics} empty="No metrics recorded." />
        </section>
        <section className="card">
          <JsonViewer title="Payload" value={payload} empty="No payload recorded." />
        </section>
      </div>
    </div>
  );
}
