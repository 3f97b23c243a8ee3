import { lazy, Suspense } from "react";
import { Navigate, NavLink, Outlet, Route, Routes, useLocation } from "react-router";
import { useAuth } from "./auth/AuthContext";
import { ClientPicker } from "./auth/ClientPicker";
import { Loading } from "./components/States";
import { SignInPage } from "./pages/signin/SignInPage";

const loaders = {
  overview: () => import("./pages/overview/OverviewPage"),
  logs: () => import("./pages/logs/LogsPage"),
  detail: () => import("./pages/log-detail/LogDetailPage"),
  categories: () => import("./pages/categories/CategoriesPage"),
};
const OverviewPage = lazy(loaders.overview);
const LogsPage = lazy(loaders.logs);
const LogDetailPage = lazy(loaders.detail);
const CategoriesPage = lazy(loaders.categories);

/** Starts loading the opened page's code while the session is checked, not after. */
export function loaderFor(pathname: string): keyof typeof loaders | null {
  if (pathname === "/") return "overview";
  if (/^\/logs\/[^/]+/.test(pathname)) return "detail";
  if (/^\/logs\/?$/.test(pathname)) return "logs";
  if (/^\/categories\/?$/.test(pathname)) return "categories";
  return null;
}
if (typeof window !== "undefined") {
  const first = loaderFor(window.location.pathname);
  if (first) void loaders[first]().catch(() => undefined);
}

function RequireAuth() {
  const { key, me } = useAuth();
  const location = useLocation();
  if (!key || !me) {
    const next = location.pathname + location.search;
    return <Navigate to={`/signin${next && next !== "/" ? `?next=${encodeURIComponent(next)}` : ""}`} replace />;
  }
  return <Shell />;
}

function Shell() {
  const { me, signOut } = useAuth();
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
          <NavLink to="/" end>
            Overview
          </NavLink>
          <NavLink to="/logs">Logs</NavLink>
          <NavLink to="/categories">Categories</NavLink>
        </nav>
        <div className="topbar-right">
          {me?.is_admin ? (
            <ClientPicker />
          ) : (
            <span className="identity" title={me?.key_prefix ? `Key ${me.key_prefix}…` : undefined}>
              Client <strong data-testid="identity">{me?.client_id}</strong>
            </span>
          )}
          <button type="button" className="button button-ghost" onClick={() => signOut(null)}>
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
  return (
    <div className="state state-empty">
      <p className="state-title">No such page</p>
      <p className="state-body">
        <NavLink to="/">Back to the overview</NavLink>
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
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
