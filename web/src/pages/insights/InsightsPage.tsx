import { useState } from "react";
import { Link } from "react-router";
import type { Params } from "../../api/client";
import type { AnomalyRow, PatternRow, VersionStats } from "../../api/types";
import { RangeControls } from "../../components/RangeControls";
import { Empty, ErrorState, Loading } from "../../components/States";
import { Time } from "../../components/Time";
import { formatCount, formatDuration, formatPercent } from "../../lib/format";
import { useLink } from "../../lib/links";
import { rangeToParams } from "../../lib/range";
import { useEnvironments, useRangeInUrl } from "../overview/useOverview";
import { useAnomalies, usePatterns, useTrends, useVersions } from "./useInsights";

function interval(v: VersionStats): string {
  if (v.success_rate_low === null || v.success_rate_high === null) return "";
  return `${formatPercent(v.success_rate_low)}–${formatPercent(v.success_rate_high)}`;
}

function VersionsCard({ params }: { params: Params }) {
  const [candidate, setCandidate] = useState<string>("");
  const all = useVersions(params);
  const compared = useVersions(candidate ? { ...params, version: candidate } : params);
  const versions = all.data?.versions ?? [];
  const comparison = candidate ? compared.data?.comparison : null;
  return (
    <section className="card card-wide" aria-labelledby="versions-title" data-testid="insights-versions">
      <h2 id="versions-title">Workflow versions</h2>
      {all.isPending ? (
        <Loading label="Loading versions…" />
      ) : all.isError ? (
        <ErrorState error={all.error} onRetry={() => all.refetch()} />
      ) : versions.length === 0 ? (
        <Empty title="No runs in this range" />
      ) : (
        <>
          <div className="table-wrap">
            <table className="table" data-testid="versions-table">
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col" className="num">Runs</th>
                  <th scope="col" className="num">Success rate</th>
                  <th scope="col" className="num">95% interval</th>
                  <th scope="col" className="num">p50</th>
                  <th scope="col" className="num">p95</th>
                  <th scope="col" className="num">p99</th>
                </tr>
              </thead>
              <tbody>
                {versions.map((v) => (
                  <tr key={v.version} data-testid="version-row">
                    <td>{v.version}</td>
                    <td className="num">{formatCount(v.runs)}</td>
                    <td className="num">{formatPercent(v.success_rate)}</td>
                    <td className="num muted">{interval(v)}</td>
                    <td className="num">{formatDuration(v.p50_execution_time_seconds)}</td>
                    <td className="num">{formatDuration(v.p95_execution_time_seconds)}</td>
                    <td className="num">{formatDuration(v.p99_execution_time_seconds)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <label className="field compare-field">
            <span>Compare a version with the one before it</span>
            <select
              value={candidate}
              onChange={(e) => setCandidate(e.target.value)}
              data-testid="compare-version"
            >
              <option value="">—</option>
              {versions.map((v) => (
                <option key={v.version} value={v.version}>
                  {v.version}
                </option>
              ))}
            </select>
          </label>
          {candidate && compared.isError ? <ErrorState error={compared.error} /> : null}
          {comparison ? (
            <p
              className={`verdict ${comparison.difference.significant ? "verdict-significant" : ""}`}
              data-testid="version-verdict"
            >
              <span className={`badge ${comparison.difference.significant ? ((comparison.difference.success_rate ?? 0) < 0 ? "badge-bad" : "badge-ok") : "badge-neutral"}`}>
                {comparison.difference.significant ? "significant" : "not significant"}
              </span>{" "}
              {comparison.difference.verdict}
              {comparison.difference.p95_ratio !== null ? ` · p95 ×${comparison.difference.p95_ratio.toFixed(2)}` : ""}
            </p>
          ) : null}
        </>
      )}
    </section>
  );
}

function TrendsCard({ params }: { params: Params }) {
  const trends = useTrends(params);
  const worst = (trends.data?.categories ?? []).slice(0, 5);
  return (
    <section className="card" aria-labelledby="trends-title" data-testid="insights-trends">
      <h2 id="trends-title">Categories getting worse</h2>
      {trends.isPending ? (
        <Loading label="Loading trends…" />
      ) : trends.isError ? (
        <ErrorState error={trends.error} onRetry={() => trends.refetch()} />
      ) : worst.length === 0 ? (
        <Empty title="No runs in this range" />
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Category</th>
              <th scope="col" className="num">Success, 1st half → 2nd</th>
              <th scope="col" className="num">p95 change</th>
            </tr>
          </thead>
          <tbody>
            {worst.map((t) => (
              <tr key={t.category} data-testid="trend-row">
                <td>{t.category}</td>
                <td className="num">
                  {formatPercent(t.first_half_success_rate)} → {formatPercent(t.second_half_success_rate)}
                </td>
                <td className="num">{t.p95_ratio !== null ? `×${t.p95_ratio.toFixed(2)}` : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const KIND_LABEL: Record<AnomalyRow["kind"], string> = {
  failure_rate: "Failure rate",
  run_count: "Runs",
  p95: "p95 time",
};

/** Anomalies as marks on the range's time axis, one row per measure. */
function Timeline({ rows, from, to }: { rows: AnomalyRow[]; from: string; to: string }) {
  const start = new Date(from).getTime();
  const span = Math.max(1, new Date(to).getTime() - start);
  const kinds = Object.keys(KIND_LABEL) as AnomalyRow["kind"][];
  return (
    <svg className="timeline" viewBox="0 0 1000 90" role="img" aria-label="Anomalies over the range" data-testid="anomaly-timeline">
      {kinds.map((kind, i) => (
        <g key={kind}>
          <text x="0" y={20 + i * 28} className="timeline-label">{KIND_LABEL[kind]}</text>
          <line x1="110" x2="1000" y1={16 + i * 28} y2={16 + i * 28} className="timeline-axis" />
          {rows
            .filter((a) => a.kind === kind)
            .map((a) => {
              const x = 110 + (890 * (new Date(a.hour).getTime() - start)) / span;
              return (
                <circle key={`${a.hour}-${a.client_id}-${a.environment}-${a.category}`} cx={x} cy={16 + i * 28} r="5" className="timeline-mark">
                  <title>{a.explanation}</title>
                </circle>
              );
            })}
        </g>
      ))}
    </svg>
  );
}

function AnomaliesCard({ params }: { params: Params }) {
  const anomalies = useAnomalies(params);
  const rows = anomalies.data?.anomalies ?? [];
  return (
    <section className="card card-wide" aria-labelledby="anomalies-title" data-testid="insights-anomalies">
      <h2 id="anomalies-title">Unusual hours</h2>
      {anomalies.isPending ? (
        <Loading label="Loading anomalies…" />
      ) : anomalies.isError ? (
        <ErrorState error={anomalies.error} onRetry={() => anomalies.refetch()} />
      ) : rows.length === 0 ? (
        <Empty title="Nothing unusual">Every hour in this range looks like the same hour in the weeks before.</Empty>
      ) : (
        <>
          <Timeline rows={rows} from={anomalies.data!.from} to={anomalies.data!.to} />
          <ul className="anomaly-list">
            {rows
              .slice()
              .reverse()
              .map((a) => (
                <li key={`${a.hour}-${a.kind}-${a.client_id}-${a.environment}-${a.category}`} data-testid="anomaly">
                  <span className="badge badge-warn">{KIND_LABEL[a.kind]}</span> <Time iso={a.hour} /> ·{" "}
                  <strong>
                    {a.category || "uncategorized"} / {a.environment}
                  </strong>{" "}
                  — {a.explanation}
                </li>
              ))}
          </ul>
        </>
      )}
    </section>
  );
}

function PatternsCard({ params }: { params: Params }) {
  const patterns = usePatterns(params);
  const link = useLink();
  const rows: PatternRow[] = patterns.data?.patterns ?? [];
  return (
    <section className="card card-wide" aria-labelledby="patterns-title" data-testid="insights-patterns">
      <h2 id="patterns-title">Failure patterns</h2>
      {patterns.isPending ? (
        <Loading label="Loading failure patterns…" />
      ) : patterns.isError ? (
        <ErrorState error={patterns.error} onRetry={() => patterns.refetch()} />
      ) : rows.length === 0 ? (
        <Empty title="No failed runs in this range" />
      ) : (
        <div className="table-wrap">
          {patterns.data?.sampled ? (
            <p className="muted small">The newest {formatCount(patterns.data.failed_runs)} failed runs are grouped.</p>
          ) : null}
          <table className="table" data-testid="patterns-table">
            <thead>
              <tr>
                <th scope="col">Step</th>
                <th scope="col">Error</th>
                <th scope="col" className="num">Runs</th>
                <th scope="col">Last seen</th>
                <th scope="col">Versions</th>
                <th scope="col">Examples</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((p) => (
                <tr key={p.id} data-testid="pattern-row">
                  <td>{p.step ?? "—"}</td>
                  <td>
                    <code>{p.template}</code> {p.new ? <span className="badge badge-bad" data-testid="pattern-new">new</span> : null}
                  </td>
                  <td className="num">{formatCount(p.count)}</td>
                  <td>
                    <Time iso={p.last_seen} />
                  </td>
                  <td>{p.versions.join(", ") || "—"}</td>
                  <td>
                    {p.example_run_ids.slice(0, 3).map((id, i) => (
                      <Link key={id} to={link(`/logs/${id}`)} data-testid="pattern-run">
                        {i ? ", " : ""}run {i + 1}
                      </Link>
                    ))}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export default function InsightsPage() {
  const [range, setRange] = useRangeInUrl();
  const environments = useEnvironments(range);
  const params = rangeToParams(range);
  return (
    <div className="page">
      <header className="page-head">
        <div>
          <h1>Insights</h1>
          <p className="muted small">Versions compared, unusual hours, and what the failed runs have in common.</p>
        </div>
        <div className="toolbar">
          <RangeControls key={range.range} state={range} onChange={setRange} environments={environments} />
        </div>
      </header>
      <AnomaliesCard params={params} />
      <VersionsCard params={params} />
      <div className="grid">
        <TrendsCard params={params} />
      </div>
      <PatternsCard params={params} />
    </div>
  );
}
