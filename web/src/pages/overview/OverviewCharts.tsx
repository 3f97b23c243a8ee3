import { Link } from "react-router";
import { Bar, CartesianGrid, Cell, ComposedChart, Legend, Pie, PieChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { Overview } from "../../api/types";
import { statusTone } from "../../components/StatusBadge";
import { logsOfRange, useLink } from "../../lib/links";
import { exactUtc, formatBucket, formatCount, formatLocal, formatPercent } from "../../lib/format";

const TONE_COLORS = { ok: "#2f9e6b", bad: "#d64545", warn: "#d9930d", neutral: "#8590a6" };

export default function OverviewCharts({ data, environment }: { data: Overview; environment: string | null }) {
  const link = useLink();
  // The environment filter stays on unless the link sets one itself.
  const logsLink = (params: Record<string, string>, d: Overview) =>
    link(logsOfRange(d, params.environment ?? environment, params));
  const series = data.series.map((b) => ({
    start: b.start,
    label: formatBucket(b.start, data.bucket),
    succeeded: Math.max(0, b.runs - b.failed_runs),
    failed: b.failed_runs,
    runs: b.runs,
  }));
  const maxEnv = Math.max(1, ...data.by_environment.map((e) => e.runs));
  return (
    <div className="grid">
      <section className="card card-wide" aria-labelledby="series-title">
        <h2 id="series-title">
          Runs and failures per {data.bucket === "hour" ? "hour" : "day"}
        </h2>
        <div className="chart" data-testid="series-chart">
          <ResponsiveContainer width="100%" height={260}>
            <ComposedChart data={series} margin={{ top: 8, right: 16, bottom: 0, left: 0 }}>
              <CartesianGrid stroke="#e6e9f0" vertical={false} />
              <XAxis dataKey="label" tick={{ fontSize: 12 }} minTickGap={24} />
              <YAxis allowDecimals={false} tick={{ fontSize: 12 }} width={44} />
              <Tooltip
                labelFormatter={(_, payload) => {
                  const start = payload?.[0]?.payload?.start as string | undefined;
                  if (!start) return "";
                  return data.bucket === "hour" ? `${formatLocal(start)} (${exactUtc(start)})` : `${formatBucket(start, "day")} (UTC day)`;
                }}
              />
              <Legend />
              <Bar dataKey="succeeded" name="Succeeded" stackId="runs" fill="#4c7bf3" isAnimationActive={false} />
              <Bar dataKey="failed" name="Failed" stackId="runs" fill="#d64545" isAnimationActive={false} />
            </ComposedChart>
          </ResponsiveContainer>
        </div>
      </section>

      <section className="card" aria-labelledby="status-title">
        <h2 id="status-title">By status</h2>
        <div className="split">
          <div className="chart chart-donut">
            <ResponsiveContainer width="100%" height={180}>
              <PieChart>
                <Pie data={data.by_status} dataKey="runs" nameKey="status" innerRadius={48} outerRadius={80} isAnimationActive={false}>
                  {data.by_status.map((s) => (
                    <Cell key={s.status} fill={TONE_COLORS[statusTone(s.status)]} />
                  ))}
                </Pie>
                <Tooltip />
              </PieChart>
            </ResponsiveContainer>
          </div>
          <table className="table table-compact" data-testid="by-status">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col" className="num">Runs</th>
                <th scope="col" className="num">Share</th>
              </tr>
            </thead>
            <tbody>
              {data.by_status.map((s) => (
                <tr key={s.status}>
                  <td>
                    <span className={`dot dot-${statusTone(s.status)}`} aria-hidden="true" />
                    <Link to={logsLink({ status: s.status }, data)}>{s.status}</Link>
                  </td>
                  <td className="num">{formatCount(s.runs)}</td>
                  <td className="num">{formatPercent(data.total_runs ? s.runs / data.total_runs : null)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section className="card" aria-labelledby="env-title">
        <h2 id="env-title">By environment</h2>
        <table className="table table-compact" data-testid="by-environment">
          <thead>
            <tr>
              <th scope="col">Environment</th>
              <th scope="col" className="num">Runs</th>
              <th scope="col" className="num">Failed</th>
              <th scope="col">
                <span className="sr-only">Volume</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data.by_environment.map((e) => (
              <tr key={e.environment}>
                <td>
                  <Link to={logsLink({ environment: e.environment }, data)}>{e.environment}</Link>
                </td>
                <td className="num">{formatCount(e.runs)}</td>
                <td className="num">{formatCount(e.failed_runs)}</td>
                <td className="bar-cell">
                  <span className="bar" style={{ width: `${(e.runs / maxEnv) * 100}%` }}>
                    <span className="bar-bad" style={{ width: `${e.runs ? (e.failed_runs / e.runs) * 100 : 0}%` }} />
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
