import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { AccountPage, ForgotPassword, ResetPassword, VerifyEmail } from "./account";
import { bourse, connect, go, onSession } from "./api";
import { Jobs, Journal, PortfolioPage, Portfolios, Screener, SignIn, SignUp, StockPage } from "./pages";
import "./style.css";

interface Route {
  /** The path's parts: `#/portfolios/p…` → `["portfolios", "p…"]`. */
  parts: string[];
  /** What follows `?` in the hash: `#/reset-password?token=…` (the e-mailed links). */
  query: URLSearchParams;
  /** The whole hash, so a page is made anew when any of it changes. */
  key: string;
}

/** Hash routes (`#/portfolios/p…`), so any static host serves the app with no rewrite rules. */
function useRoute(): Route {
  const read = (): Route => {
    const hash = location.hash.replace(/^#\/?/, "");
    const at = hash.indexOf("?");
    const path = at < 0 ? hash : hash.slice(0, at);
    const parts = (path || "portfolios").split("/").map(decodeURIComponent);
    return { parts, query: new URLSearchParams(at < 0 ? "" : hash.slice(at + 1)), key: hash };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

/** Pages anyone may open, signed in or not (the e-mailed links among them). */
const OPEN = new Set(["signin", "signup", "screener", "stocks", "verify-email", "forgot-password", "reset-password"]);

function App() {
  const route = useRoute();
  const [signedIn, setSignedIn] = useState(() => bourse().tokens.get() !== null);
  useEffect(() => onSession(setSignedIn), []);

  const [page = "portfolios", arg] = route.parts;
  const token = route.query.get("token") ?? "";
  let view;
  if (!signedIn && !OPEN.has(page)) view = <SignIn />;
  else if (page === "signin") view = <SignIn />;
  else if (page === "signup") view = <SignUp />;
  else if (page === "verify-email") view = <VerifyEmail token={token} />;
  else if (page === "forgot-password") view = <ForgotPassword />;
  else if (page === "reset-password") view = <ResetPassword token={token} />;
  else if (page === "account") view = <AccountPage />;
  else if (page === "portfolios" && arg) view = <PortfolioPage id={arg} />;
  else if (page === "portfolios") view = <Portfolios />;
  else if (page === "screener") view = <Screener />;
  else if (page === "stocks" && arg) view = <StockPage symbol={arg} />;
  else if (page === "journal") view = <Journal />;
  else if (page === "jobs") view = <Jobs />;
  else view = <p>Nothing here. <a href="#/portfolios">Portfolios</a></p>;

  return (
    <>
      <header>
        <strong>Bourse</strong>
        <nav>
          <a href="#/portfolios">Portfolios</a>
          <a href="#/screener">Screener</a>
          <a href="#/journal">Journal</a>
          <a href="#/jobs">Jobs</a>
        </nav>
        <span class="session">
          {signedIn ? (
            <>
              <a href="#/account">Account</a>{" "}
              <button type="button" onClick={() => bourse().logout().finally(() => go("signin"))}>
                Sign out
              </button>
            </>
          ) : (
            <>
              <a href="#/signin">Sign in</a> <a href="#/signup">Sign up</a>
            </>
          )}
        </span>
      </header>
      <main key={route.key}>{view}</main>
    </>
  );
}

const root = document.getElementById("app")!;
connect()
  .then(() => render(<App />, root))
  .catch((e: unknown) => {
    root.textContent = `Bourse could not start: ${e instanceof Error ? e.message : String(e)}`;
  });
