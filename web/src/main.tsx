import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { bourse, connect, go, onSession } from "./api";
import { Jobs, Journal, PortfolioPage, Portfolios, Screener, SignIn, SignUp, StockPage } from "./pages";
import "./style.css";

/** Hash routes (`#/portfolios/p…`), so any static host serves the app with no rewrite rules. */
function useRoute(): string[] {
  const read = () => (location.hash.replace(/^#\/?/, "") || "portfolios").split("/").map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function App() {
  const route = useRoute();
  const [signedIn, setSignedIn] = useState(() => bourse().tokens.get() !== null);
  useEffect(() => onSession(setSignedIn), []);

  const [page = "portfolios", arg] = route;
  const open = page === "signin" || page === "signup" || page === "screener" || page === "stocks";
  let view;
  if (!signedIn && !open) view = <SignIn />;
  else if (page === "signin") view = <SignIn />;
  else if (page === "signup") view = <SignUp />;
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
            <button type="button" onClick={() => bourse().logout().finally(() => go("signin"))}>
              Sign out
            </button>
          ) : (
            <>
              <a href="#/signin">Sign in</a> <a href="#/signup">Sign up</a>
            </>
          )}
        </span>
      </header>
      <main key={route.join("/")}>{view}</main>
    </>
  );
}

const root = document.getElementById("app")!;
connect()
  .then(() => render(<App />, root))
  .catch((e: unknown) => {
    root.textContent = `Bourse could not start: ${e instanceof Error ? e.message : String(e)}`;
  });
