import { useState, type FormEvent } from "react";
import { Navigate, useSearchParams } from "react-router";
import { ApiError } from "../../api/client";
import { reasonOf, useAuth } from "../../auth/AuthContext";
import { ThemeToggle } from "../../theme/ThemeToggle";

/** Only same-app paths are followed after sign-in. */
export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/signin")) return "/";
  return next;
}

export function SignInPage() {
  const { key, me, reason, signIn } = useAuth();
  const [params] = useSearchParams();
  const [value, setValue] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = safeNext(params.get("next"));

  if (key && me) return <Navigate to={next} replace />;

  async function submit(event: FormEvent) {
    event.preventDefault();
    const candidate = value.trim();
    if (!candidate) {
      setError("Paste an API key first.");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await signIn(candidate);
    } catch (e) {
      setError(e instanceof ApiError && e.status === 0 ? "The service could not be reached." : reasonOf(e));
    } finally {
      setBusy(false);
    }
  }

  const message = error ?? reason;
  return (
    <main className="signin" id="main">
      <div className="signin-theme">
        <ThemeToggle />
      </div>
      <form className="signin-card" onSubmit={submit} noValidate>
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          Central Logger
        </div>
        <h1>Sign in</h1>
        <p className="muted">Paste an API key. It is kept for this browser tab only and sent as the <code>X-API-Key</code> header.</p>
        {message ? (
          <div className="alert" role="alert" data-testid="signin-message">
            {error ? "Sign-in failed: " : "You were signed out: "}
            {message}
          </div>
        ) : null}
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          autoFocus
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="cl_…"
        />
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? "Checking…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
