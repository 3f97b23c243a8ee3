import type { ApiKeyInfo } from "../../api/types";

export type KeyState = "active" | "expiring" | "expired" | "revoked";

/** Where a key stands at `now`: revoked, expired, expiring (a rotated key's overlap), active. */
export function keyState(key: ApiKeyInfo, now: number = Date.now()): KeyState {
  if (key.revoked_at) return "revoked";
  if (key.expires_at) {
    const expires = new Date(key.expires_at).getTime();
    if (expires <= now) return "expired";
    return "expiring";
  }
  return "active";
}

export const STATE_LABELS: Record<KeyState, string> = {
  active: "Active",
  expiring: "Expires",
  expired: "Expired",
  revoked: "Revoked",
};

export const OVERLAPS: { seconds: number; label: string }[] = [
  { seconds: 0, label: "at once" },
  { seconds: 3600, label: "after 1 hour" },
  { seconds: 86_400, label: "after 24 hours" },
  { seconds: 7 * 86_400, label: "after 7 days" },
];
