// What the browser session remembers: the API key and the admin's chosen client.
const KEY = "central-logger.api-key";
const CLIENT = "central-logger.client-id";
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
  clientId: (): string | null => storage()?.getItem(CLIENT) || null,
  setClientId: (clientId: string | null) => {
    if (clientId) storage()?.setItem(CLIENT, clientId);
    else storage()?.removeItem(CLIENT);
  },
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
