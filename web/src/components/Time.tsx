import { exactUtc, formatLocal } from "../lib/format";

/** A timestamp in the browser's zone, with the exact UTC value in the tooltip. */
export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="muted">—</span>;
  const utc = exactUtc(iso);
  return (
    <time dateTime={utc} title={`${utc} (UTC)`}>
      {formatLocal(iso)}
    </time>
  );
}
