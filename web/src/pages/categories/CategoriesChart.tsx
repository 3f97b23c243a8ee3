import { useState } from "react";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { CategoryRow } from "../../api/types";
import { formatCount, formatDuration, formatPercent } from "../../lib/format";

type Metric = "runs" | "success_rate" | "avg" | "p95";

const METRICS: { value: Metric; label: string }[] = [
  { value: "runs", label: "Runs" },
  { value: "success_rate", label: "Success rate" },
  { value: "avg", label: "Avg time" },
  { value: "p95", label: "p95 time" },
];

const FORMAT: Record<Metric, (v: number | null) => string> = {
  runs: formatCount,
  success_rate: (v) => formatPercent(v),
  avg: formatDuration,
  p95: formatDuration,
};

export default function CategoriesChart({ rows, onSelect }: { rows: CategoryRow[]; onSelect: (category: string) => void }) {
  const [metric, setMetric] = useState<Metric>("runs");
  const data = rows.slice(0, 20).map((r) => ({
    category: r.category,
    succeeded: r.successful_runs,
    failed: r.failed_runs,
    success_rate: r.success_rate,
    avg: r.avg_execution_time_seconds,
    p95: r.p95_execution_time_seconds,
  }));
  const select = (entry: unknown) => onSelect((entry as { category: string }).category);
  const format = FORMAT[metric];
  return (
    <div className="chart" data-testid="categories-chart">
      <div className="segmented chart-switch" role="radiogroup" aria-label="Chart metric">
        {METRICS.map((m) => (
          <button
            key={m.value}
            type="button"
            role="radio"
            aria-checked={metric === m.value}
            className={metric === m.value ? "active" : ""}
            onClick={() => setMetric(m.value)}
          >
            {m.label}
          </button>
        ))}
      </div>
      <ResponsiveContainer width="100%" height={Math.max(180, data.length * 34 + 60)}>
        <BarChart data={data} layout="vertical" margin={{ top: 8, right: 24, bottom: 0, left: 8 }}>
          <CartesianGrid stroke="#e6e9f0" horizontal={false} />
          <XAxis
            type="number"
            allowDecimals={metric !== "runs"}
            domain={metric === "success_rate" ? [0, 1] : [0, "auto"]}
            tickFormatter={(v: number) => format(v)}
            tick={{ fontSize: 12 }}
          />
          <YAxis type="category" dataKey="category" width={150} tick={{ fontSize: 12 }} />
          <Tooltip
            formatter={(value) => format(typeof value === "number" ? value : null)}
            labelFormatter={(label, payload) => {
              const p = payload?.[0]?.payload as (typeof data)[number] | undefined;
              return p
                ? `${label} · ${formatCount(p.succeeded + p.failed)} runs · success ${formatPercent(p.success_rate)} · avg ${formatDuration(p.avg)} · p95 ${formatDuration(p.p95)}`
                : String(label);
            }}
          />
          {metric === "runs" ? <Legend /> : null}
          {metric === "runs" ? (
            [
              <Bar key="s" dataKey="succeeded" name="Succeeded" stackId="runs" fill="#4c7bf3" cursor="pointer" isAnimationActive={false} onClick={select} />,
              <Bar key="f" dataKey="failed" name="Failed" stackId="runs" fill="#d64545" cursor="pointer" isAnimationActive={false} onClick={select} />,
            ]
          ) : (
            <Bar
              dataKey={metric}
              name={METRICS.find((m) => m.value === metric)?.label}
              fill={metric === "success_rate" ? "#2f9e6b" : "#7d6ff0"}
              cursor="pointer"
              isAnimationActive={false}
              onClick={select}
            />
          )}
        </BarChart>
      </ResponsiveContainer>
      {rows.length > 20 ? <p className="small muted">The chart shows the 20 largest of {rows.length} categories; the table lists all.</p> : null}
    </div>
  );
}
