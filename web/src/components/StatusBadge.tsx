export function statusTone(status: string | null | undefined): "ok" | "bad" | "warn" | "neutral" {
  const s = (status ?? "").toUpperCase();
  if (s === "SUCCESS" || s === "OK" || s === "RESOLVED") return "ok";
  if (["FAILURE", "FAILED", "ERROR", "TIMEOUT", "CRASHED"].includes(s)) return "bad";
  if (["RUNNING", "PENDING", "PARTIAL", "RETRY", "SKIPPED", "WARNING"].includes(s)) return "warn";
  return s ? "bad" : "neutral";
}

export function StatusBadge({ status }: { status: string | null | undefined }) {
  return <span className={`badge badge-${statusTone(status)}`}>{status || "—"}</span>;
}
