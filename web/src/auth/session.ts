// What the browser session remembers: the API key (the admin's chosen client lives in
// the URL, so a shared link shows the same tenant).
const KEY = "central-logger.api-key";
const CLIENT = "central-logger.client-id"; // written by older builds; cleared at sign-out
const REASON = "central-logger.signin-reason";

function storage(): Storage | null {
  try {
    return window.sessionStorage;
  } catch {
    return null;
  }
}

export const session = {
  key: (): string | null => storage()?.getItem(KEY) ?? null,
  setKey: (key: string) => storage()?.setItem(KEY, key),
  /** Why the user was sent back to sign-in; survives the redirect and a reload. */
  reason: (): string | null => storage()?.getItem(REASON) ?? null,
  setReason: (reason: string | null) => {
    if (reason) storage()?.setItem(REASON, reason);
    else storage()?.removeItem(REASON);
  },
  clear: () => {
    storage()?.removeItem(KEY);
    storage()?.removeItem(CLIENT);
  },
};
