import { lazy, Suspense } from "react";
import { Navigate, NavLink, Outlet, Route, Routes, useLocation } from "react-router";
import { useAuth } from "./auth/AuthContext";
import { ClientPicker } from "./auth/ClientPicker";
import { Loading } from "./components/States";
import { useLink } from "./lib/links";
import { SignInPage } from "./pages/signin/SignInPage";
import { ThemeToggle } from "./theme/ThemeToggle";

const loaders = {
  overview: () => import("./pages/overview/OverviewPage"),
  logs: () => import("./pages/logs/LogsPage"),
  detail: () => import("./pages/log-detail/LogDetailPage"),
  categories: () => import("./pages/categories/CategoriesPage"),
  insights: () => import("./pages/insights/InsightsPage"),
  keys: () => import("./pages/keys/KeysPage"),
  audit: () => import("./pages/audit/AuditPage"),
  alerts: () => import("./pages/alerts/AlertsPage"),
};
const OverviewPage = lazy(loaders.overview);
const LogsPage = lazy(loaders.logs);
const LogDetailPage = lazy(loaders.detail);
const CategoriesPage = lazy(loaders.categories);
const InsightsPage = lazy(loaders.insights);
const KeysPage = lazy(loaders.keys);
const AuditPage = lazy(loaders.audit);
const AlertsPage = lazy(loaders.alerts);

/** Starts loading the opened page's code while the session is checked, not after. */
export function loaderFor(pathname: string): keyof typeof loaders | null {
  if (pathname === "/") return "overview";
  if (/^\/logs\/[^/]+/.test(pathname)) return "detail";
  if (/^\/logs\/?$/.test(pathname)) return "logs";
  if (/^\/categories\/?$/.test(pathname)) return "categories";
  if (/^\/insights\/?$/.test(pathname)) return "insights";
  if (/^\/keys\/?$/.test(pathname)) return "keys";
  if (/^\/audit\/?$/.test(pathname)) return "audit";
  return null;
}
if (typeof window !== "undefined") {
  const first = loaderFor(window.location.pathname);
  if (first) void loaders[first]().catch(() => undefined);
}

function RequireAuth() {
  const { key, me, leftDeliberately } = useAuth();
  const location = useLocation();
  if (!key || !me) {
    // A deliberate sign-out forgets this user's place: the next key starts at the overview.
    if (leftDeliberately) return <Navigate to="/signin" replace />;
    const next = location.pathname + location.search;
    return <Navigate to={`/signin${next && next !== "/" ? `?next=${encodeURIComponent(next)}` : ""}`} replace />;
  }
  return <Shell />;
}

function Shell() {
  const { me, signOut } = useAuth();
  const link = useLink();
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          Central Logger
        </div>
        <nav className="nav" aria-label="Main">
          <NavLink to={link("/")} end>
            Overview
          </NavLink>
          <NavLink to={link("/logs")}>Logs</NavLink>
          <NavLink to={link("/categories")}>Categories</NavLink>
          <NavLink to={link("/insights")}>Insights</NavLink>
          <NavLink to={link("/alerts")}>Alerts</NavLink>
          <NavLink to={link("/keys")}>Keys</NavLink>
          {me?.is_admin ? <NavLink to={link("/audit")}>Audit</NavLink> : null}
        </nav>
        <div className="topbar-right">
          {me?.is_admin ? (
            <ClientPicker />
          ) : (
            <span className="identity" title={me?.key_prefix ? `Key ${me.key_prefix}…` : undefined}>
              <span className="identity-label">Client</span> <strong data-testid="identity">{me?.client_id}</strong>
            </span>
          )}
          <ThemeToggle />
          <button
            type="button"
            className="button button-ghost"
            onClick={() => signOut(null, true)}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}

function NotFound() {
  const link = useLink();
  return (
    <div className="state state-empty" data-testid="no-such-page">
      <h1 className="state-title">No such page</h1>
      <p className="state-body">
        The address does not match a page of the dashboard. <NavLink to={link("/")}>Back to the overview</NavLink>
      </p>
    </div>
  );
}

export function App() {
  return (
    <Routes>
      <Route path="/signin" element={<SignInPage />} />
      <Route element={<RequireAuth />}>
        <Route index element={<OverviewPage />} />
        <Route path="logs" element={<LogsPage />} />
        <Route path="logs/:id" element={<LogDetailPage />} />
        <Route path="categories" element={<CategoriesPage />} />
        <Route path="insights" element={<InsightsPage />} />
        <Route path="keys" element={<KeysPage />} />
        <Route path="audit" element={<AuditPage />} />
        <Route path="alerts" element={<AlertsPage />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
