import { BourseProblem, filterErrorPosition, type FieldError, type Schemas } from "@bourse/client";
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { bourse, charIndexOfByte, describe, go, takeNotice, toSignIn } from "./api";
import { Bars, LineChart } from "./chart";

// --- small pieces ------------------------------------------------------------------------------

/** Loads once per change of `deps`; `reload()` loads again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (e: unknown) => live && setState({ error: describe(e), loading: false }),
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { ...state, reload: useCallback(() => setTick((t) => t + 1), []) };
}

export function Failure({ message }: { message?: string | null }) {
  return message ? (
    <p class="error" role="alert">
      {message}
    </p>
  ) : null;
}

export function Section({ title, children }: { title: string; children: ComponentChildren }) {
  return (
    <section>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

const money = (v: string | null | undefined) =>
  v === null || v === undefined ? "—" : Number(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
/** A fraction (0.0076) as a percentage (0.76%). */
const pct = (v: string | null | undefined) => (v === null || v === undefined ? "—" : `${(Number(v) * 100).toFixed(2)}%`);
const num = (v: string | null | undefined, digits = 2) => (v === null || v === undefined ? "—" : Number(v).toFixed(digits));
const today = () => new Date().toISOString().slice(0, 10);

/** The form's fields, trimmed (but passwords), empty ones left out; stops the submission. */
export function form(e: Event): Record<string, string> {
  e.preventDefault();
  const data = new FormData(e.currentTarget as HTMLFormElement);
  const out: Record<string, string> = {};
  data.forEach((v, k) => {
    // A password is sent exactly as typed: its spaces are part of it.
    if (typeof v !== "string" || v.trim() === "") return;
    out[k] = k.toLowerCase().includes("password") ? v : v.trim();
  });
  return out;
}

// --- accounts ----------------------------------------------------------------------------------

export function SignUp() {
  const [error, setError] = useState<string | null>(null);
  return (
    <Section title="Create an account">
      <form
        onSubmit={async (e) => {
          const f = form(e);
          setError(null);
          try {
            await bourse().register(f.email ?? "", f.password ?? "");
            toSignIn("Account created: check your inbox to confirm your address, and sign in.");
          } catch (err) {
            setError(describe(err));
          }
        }}
      >
        <label>
          Email <input name="email" type="email" autocomplete="email" required />
        </label>
        <label>
          Password <input name="password" type="password" autocomplete="new-password" minLength={8} required />
        </label>
        <button type="submit">Sign up</button>
      </form>
      <Failure message={error} />
      <p class="muted">
        A password of 8 to 128 characters that is not easy to guess. <a href="#/signin">Already registered?</a>
      </p>
    </Section>
  );
}

export function SignIn() {
  const [error, setError] = useState<string | null>(null);
  const [notice] = useState(takeNotice);
  return (
    <Section title="Sign in">
      {notice && <p class="notice">{notice}</p>}
      <form
        onSubmit={async (e) => {
          const f = form(e);
          setError(null);
          try {
            await bourse().login(f.email ?? "", f.password ?? "");
            go("portfolios");
          } catch (err) {
            setError(describe(err));
          }
        }}
      >
        <label>
          Email <input name="email" type="email" autocomplete="username" required />
        </label>
        <label>
          Password <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <button type="submit">Sign in</button>
      </form>
      <Failure message={error} />
      <p class="muted">
        <a href="#/forgot-password">Forgot your password?</a>
      </p>
      <p class="muted">
        New here? <a href="#/signup">Create an account</a>
      </p>
    </Section>
  );
}

// --- portfolios --------------------------------------------------------------------------------

export function Portfolios() {
  const api = bourse();
  const list = useLoad(() => api.ok(api.api.GET("/v1/portfolios")), []);
  const [error, setError] = useState<string | null>(null);
  return (
    <Section title="Portfolios">
      <Failure message={list.error} />
      <ul class="cards">
        {list.data?.items.map((p) => (
          <li key={p.id}>
            <a href={`#/portfolios/${p.id}`}>{p.name}</a> <span class="muted">{p.currency}</span>
          </li>
        ))}
      </ul>
      {list.data?.items.length === 0 && <p class="muted">No portfolio yet.</p>}
      <form
        class="inline"
        onSubmit={async (e) => {
          const f = form(e);
          setError(null);
          try {
            const p = await api.ok(api.api.POST("/v1/portfolios", { body: { name: f.name ?? "", currency: f.currency ?? "USD" } }));
            go(`portfolios/${p.id}`);
          } catch (err) {
            setError(describe(err));
          }
        }}
      >
        <label>
          Name <input name="name" required maxLength={100} />
        </label>
        <label>
          Currency <input name="currency" value="USD" size={4} />
        </label>
        <button type="submit">Create portfolio</button>
      </form>
      <Failure message={error} />
    </Section>
  );
}

export function PortfolioPage({ id }: { id: string }) {
  const api = bourse();
  const path = { params: { path: { id } } };
  const [version, setVersion] = useState(0);
  const changed = () => setVersion((v) => v + 1);
  const summary = useLoad(() => api.ok(api.api.GET("/v1/portfolios/{id}/summary", path)), [id, version]);
  const holdings = useLoad(() => api.ok(api.api.GET("/v1/portfolios/{id}/holdings", path)), [id, version]);
  const history = useLoad(() => api.ok(api.api.GET("/v1/portfolios/{id}/history", path)), [id, version]);
  const analysis = useLoad(() => api.ok(api.api.GET("/v1/portfolios/{id}/analysis", path)), [id, version]);
  const txs = useLoad(
    () => api.ok(api.api.GET("/v1/portfolios/{id}/transactions", { params: { path: { id }, query: { limit: 20 } } })),
    [id, version],
  );
  const s = summary.data;
  return (
    <>
      <Section title={s ? `${s.portfolio.name} (${s.portfolio.currency})` : "Portfolio"}>
        <Failure message={summary.error} />
        {s && (
          <dl class="figures">
            <div>
              <dt>Value</dt>
              <dd data-testid="portfolio-value">{money(s.value)}</dd>
            </div>
            <div>
              <dt>Cost</dt>
              <dd>{money(s.cost)}</dd>
            </div>
            <div>
              <dt>Unrealised P&amp;L</dt>
              <dd>{money(s.unrealised_pnl)}</dd>
            </div>
            <div>
              <dt>Day change</dt>
              <dd>{money(s.day_change)}</dd>
            </div>
            <div>
              <dt>Dividends</dt>
              <dd>{money(s.dividends)}</dd>
            </div>
          </dl>
        )}
      </Section>
      <Section title="Holdings">
        <Failure message={holdings.error} />
        <table data-testid="holdings">
          <thead>
            <tr>
              <th>Symbol</th>
              <th>Quantity</th>
              <th>Average cost</th>
              <th>Price</th>
              <th>Market value</th>
              <th>Unrealised P&amp;L</th>
              <th>Sector</th>
            </tr>
          </thead>
          <tbody>
            {holdings.data?.items.map((h) => (
              <tr key={h.symbol}>
                <td>
                  <a href={`#/stocks/${h.symbol}`}>{h.symbol}</a>
                </td>
                <td>{h.quantity}</td>
                <td>{money(h.average_cost)}</td>
                <td>{money(h.price)}</td>
                <td>{money(h.market_value)}</td>
                <td>{money(h.unrealised_pnl)}</td>
                <td>{h.sector ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {holdings.data?.items.length === 0 && <p class="muted">No holdings yet: add a transaction or import a file.</p>}
      </Section>
      <Section title="Value">
        <Failure message={history.error} />
        {history.data && history.data.points.length > 0 ? (
          <LineChart
            label="Portfolio value and cost by day"
            series={[
              { name: "value", color: "#2563eb", points: history.data.points.map((p) => ({ x: p.date, y: Number(p.value) })) },
              { name: "cost", color: "#9ca3af", points: history.data.points.map((p) => ({ x: p.date, y: Number(p.cost) })) },
            ]}
          />
        ) : (
          history.data && <p class="muted">No daily value yet: the scheduled refresh records one each day.</p>
        )}
        {s && s.allocation_by_sector.length > 0 && (
          <>
            <h3>By sector</h3>
            <Bars items={s.allocation_by_sector} />
          </>
        )}
        {analysis.data && (
          <>
            <h3>Analysis</h3>
            <p>Diversification score {num(analysis.data.diversification_score, 0)} / 100</p>
            <ul>
              {analysis.data.findings.map((f) => (
                <li key={f}>{f}</li>
              ))}
            </ul>
          </>
        )}
      </Section>
      <AddTransaction id={id} onAdded={changed} />
      <ImportCsv id={id} onImported={changed} />
      <Section title="Recent transactions">
        <Failure message={txs.error} />
        <table>
          <tbody>
            {txs.data?.items.map((t) => (
              <tr key={t.id}>
                <td>{t.trade_date}</td>
                <td>{t.type}</td>
                <td>{t.symbol}</td>
                <td>{t.quantity ?? t.amount ?? t.ratio}</td>
                <td>{t.price ? money(t.price) : ""}</td>
                <td class="muted">{t.source ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
    </>
  );
}

function AddTransaction({ id, onAdded }: { id: string; onAdded: () => void }) {
  const api = bourse();
  const [type, setType] = useState<Schemas["NewTransaction"]["type"]>("BUY");
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const trade = type === "BUY" || type === "SELL";
  return (
    <Section title="Add a transaction">
      <form
        class="grid"
        onSubmit={async (e) => {
          const f = form(e);
          setError(null);
          setDone(null);
          const body = { ...f, type, symbol: f.symbol ?? "", trade_date: f.trade_date ?? today() } as Schemas["NewTransaction"];
          try {
            const { transaction: t } = await api.ok(api.api.POST("/v1/portfolios/{id}/transactions", { params: { path: { id } }, body }));
            setDone(`Recorded ${t.type} ${t.symbol}.`);
            (e.target as HTMLFormElement).reset();
            onAdded();
          } catch (err) {
            setError(describe(err));
          }
        }}
      >
        <label>
          Type
          <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value as typeof type)}>
            {["BUY", "SELL", "DIVIDEND", "FEE", "SPLIT"].map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </label>
        <label>
          Symbol <input name="symbol" required placeholder="MSFT" />
        </label>
        <label>
          Trade date <input name="trade_date" type="date" value={today()} max={today()} />
        </label>
        {trade && (
          <>
            <label>
              Quantity <input name="quantity" inputMode="decimal" required />
            </label>
            <label>
              Price <input name="price" inputMode="decimal" required />
            </label>
            <label>
              Fees <input name="fees" inputMode="decimal" />
            </label>
          </>
        )}
        {(type === "DIVIDEND" || type === "FEE") && (
          <label>
            Amount <input name="amount" inputMode="decimal" required />
          </label>
        )}
        {type === "SPLIT" && (
          <label>
            Ratio (new:old) <input name="ratio" placeholder="2:1" required />
          </label>
        )}
        <button type="submit">Add transaction</button>
      </form>
      <Failure message={error} />
      {done && <p class="notice">{done}</p>}
    </Section>
  );
}

function ImportCsv({ id, onImported }: { id: string; onImported: () => void }) {
  const api = bourse();
  const [text, setText] = useState("");
  const [rowErrors, setRowErrors] = useState<FieldError[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<string | null>(null);
  return (
    <Section title="Import a CSV statement">
      <p class="muted">The generic layout (date, type, symbol, quantity, price, …) or a Schwab transaction-history export.</p>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          setRowErrors([]);
          setResult(null);
          try {
            const r = await api.importCsv(id, text);
            setResult(
              `${r.rows} rows: ${r.added} added, ${r.duplicates} duplicates, ${r.skipped.length} skipped` +
                (r.duplicate_file ? " (this file was imported before)" : ""),
            );
            onImported();
          } catch (err) {
            const rows = err instanceof BourseProblem ? err.errors.filter((x) => x.row !== undefined) : [];
            setRowErrors(rows);
            setError(err instanceof BourseProblem ? err.problem.detail : describe(err));
          }
        }}
      >
        <label>
          File{" "}
          <input
            type="file"
            accept=".csv,text/csv"
            onChange={async (e) => {
              const file = e.currentTarget.files?.[0];
              if (file) setText(await file.text());
            }}
          />
        </label>
        <label>
          CSV
          <textarea name="csv" rows={6} value={text} onInput={(e) => setText(e.currentTarget.value)} />
        </label>
        <button type="submit" disabled={text.trim() === ""}>
          Import
        </button>
      </form>
      <Failure message={error} />
      {rowErrors.length > 0 && (
        <table data-testid="import-errors" class="errors">
          <thead>
            <tr>
              <th>Row</th>
              <th>Column</th>
              <th>Problem</th>
            </tr>
          </thead>
          <tbody>
            {rowErrors.map((r, i) => (
              <tr key={i}>
                <td>{r.row}</td>
                <td>{r.column ?? ""}</td>
                <td>{r.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {result && <p class="notice">{result}</p>}
    </Section>
  );
}

// --- screener ----------------------------------------------------------------------------------

type StockRow = Schemas["StockSummary"];

function StockTable({ items }: { items: StockRow[] }) {
  return (
    <table data-testid="stocks">
      <thead>
        <tr>
          <th>Symbol</th>
          <th>Name</th>
          <th>Sector</th>
          <th>Price</th>
          <th>P/E</th>
          <th>Dividend yield</th>
          <th>Market cap</th>
        </tr>
      </thead>
      <tbody>
        {items.map((s) => (
          <tr key={s.symbol}>
            <td>
              <a href={`#/stocks/${s.symbol}`}>{s.symbol}</a>
            </td>
            <td>{s.name}</td>
            <td>{s.sector ?? "—"}</td>
            <td>{money(s.price)}</td>
            <td>{num(s.pe, 1)}</td>
            <td>{pct(s.dividend_yield)}</td>
            <td>{s.market_cap === null ? "—" : `${(Number(s.market_cap) / 1e9).toFixed(1)}B`}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Screener() {
  const api = bourse();
  const presets = useLoad(() => api.ok(api.api.GET("/v1/screener/presets")), []);
  const [filter, setFilter] = useState("pe < 20 and dividend_yield > 2%");
  const [rows, setRows] = useState<{ items: StockRow[]; total: number } | null>(null);
  const [fault, setFault] = useState<{ at: number; message: string; filter: string } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const run = async (text: string) => {
    setFault(null);
    setError(null);
    try {
      const page = await api.ok(api.api.POST("/v1/screener/query", { body: { filter: text, limit: 50 } }));
      setRows(page);
    } catch (err) {
      const at = err instanceof BourseProblem ? filterErrorPosition(err) : null;
      if (at) setFault({ at: charIndexOfByte(text, at.position), message: at.message, filter: text });
      else setError(describe(err));
      setRows(null);
    }
  };

  return (
    <>
      <Section title="Presets">
        <Failure message={presets.error} />
        <div class="presets">
          {presets.data?.items.map((p) => (
            <button
              key={p.name}
              type="button"
              title={p.description}
              onClick={() => {
                setFilter(p.filter);
                void run(p.filter);
              }}
            >
              {p.title}
            </button>
          ))}
        </div>
      </Section>
      <Section title="Filter">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void run(filter);
          }}
        >
          <label>
            Filter
            <input
              name="filter"
              class="mono"
              value={filter}
              onInput={(e) => setFilter(e.currentTarget.value)}
              spellcheck={false}
              aria-invalid={fault !== null}
            />
          </label>
          <button type="submit">Run</button>
        </form>
        {fault && (
          <div class="error" role="alert" data-testid="filter-error">
            <pre class="mono">
              {fault.filter}
              {"\n"}
              {" ".repeat(fault.at)}^
            </pre>
            <p>
              At position <span data-testid="filter-error-position">{fault.at}</span>: {fault.message}
            </p>
          </div>
        )}
        <Failure message={error} />
        <p class="muted">
          Fields such as <code>pe</code>, <code>dividend_yield</code>, <code>market_cap</code>, <code>sector</code>; operators
          <code> &lt; &lt;= &gt; &gt;= = !=</code>, <code>and</code>, <code>or</code>, parentheses; ratios as
          percentages (<code>dividend_yield &gt;= 3%</code>) and strings in quotes (<code>sector = 'Energy'</code>).
        </p>
      </Section>
      {rows && (
        <Section title={`${rows.total} stocks`}>
          <StockTable items={rows.items} />
        </Section>
      )}
    </>
  );
}

export function StockPage({ symbol }: { symbol: string }) {
  const api = bourse();
  const detail = useLoad(() => api.ok(api.api.GET("/v1/stocks/{symbol}", { params: { path: { symbol } } })), [symbol]);
  const history = useLoad(() => api.ok(api.api.GET("/v1/stocks/{symbol}/history", { params: { path: { symbol } } })), [symbol]);
  const d = detail.data;
  return (
    <>
      <Section title={d ? `${d.symbol} — ${d.name}` : symbol}>
        <Failure message={detail.error} />
        {d && (
          <dl class="figures">
            <div>
              <dt>Price</dt>
              <dd data-testid="stock-price">{money(d.price)}</dd>
            </div>
            <div>
              <dt>Change</dt>
              <dd>{pct(d.change_pct)}</dd>
            </div>
            <div>
              <dt>Sector</dt>
              <dd>{d.sector ?? "—"}</dd>
            </div>
            <div>
              <dt>P/E</dt>
              <dd>{num(d.pe, 1)}</dd>
            </div>
            <div>
              <dt>Dividend yield</dt>
              <dd>{pct(d.dividend_yield)}</dd>
            </div>
            <div>
              <dt>Market cap</dt>
              <dd>{d.market_cap === null ? "—" : `${(Number(d.market_cap) / 1e9).toFixed(1)}B`}</dd>
            </div>
            <div>
              <dt>1-year return</dt>
              <dd>{pct(d.return_1y)}</dd>
            </div>
            <div>
              <dt>RSI (14)</dt>
              <dd>{num(d.rsi_14, 1)}</dd>
            </div>
            <div>
              <dt>52-week range</dt>
              <dd>
                {money(d.week52_range.low)} – {money(d.week52_range.high)}
              </dd>
            </div>
          </dl>
        )}
        {d && d.signals.length > 0 && (
          <ul>
            {d.signals.map((s) => (
              <li key={s.kind}>
                <strong>{s.kind}</strong>: {s.detail}
              </li>
            ))}
          </ul>
        )}
      </Section>
      <Section title="Price">
        <Failure message={history.error} />
        {history.data && (
          <LineChart
            label={`${symbol} closing price`}
            series={[{ name: "close", color: "#2563eb", points: history.data.points.map((p) => ({ x: p.date, y: Number(p.close) })) }]}
          />
        )}
        {history.data?.generated && <p class="muted">Generated history (no provider data for this symbol yet).</p>}
      </Section>
    </>
  );
}

// --- journal -----------------------------------------------------------------------------------

export function Journal() {
  const api = bourse();
  const [version, setVersion] = useState(0);
  const stats = useLoad(() => api.ok(api.api.GET("/v1/journal/stats")), [version]);
  const signals = useLoad(() => api.ok(api.api.GET("/v1/journal/signals", { params: { query: { limit: 50 } } })), [version]);
  const [error, setError] = useState<string | null>(null);
  const c = stats.data;
  return (
    <>
      <Section title="Statistics">
        <Failure message={stats.error} />
        {c && (
          <dl class="figures" data-testid="journal-stats">
            <div>
              <dt>Signals</dt>
              <dd>{c.total}</dd>
            </div>
            <div>
              <dt>Open</dt>
              <dd>{c.by_status.OPEN}</dd>
            </div>
            <div>
              <dt>Closed</dt>
              <dd>{c.closed.count}</dd>
            </div>
            <div>
              <dt>Win rate</dt>
              <dd>{c.closed.win_rate === null ? "—" : `${(Number(c.closed.win_rate) * 100).toFixed(1)}%`}</dd>
            </div>
            <div>
              <dt>Average return</dt>
              <dd>{c.closed.average_return_pct === null ? "—" : `${num(c.closed.average_return_pct)}%`}</dd>
            </div>
            <div>
              <dt>Median return</dt>
              <dd>{c.closed.median_return_pct === null ? "—" : `${num(c.closed.median_return_pct)}%`}</dd>
            </div>
          </dl>
        )}
      </Section>
      <Section title="Record a signal">
        <form
          class="grid"
          onSubmit={async (e) => {
            const f = form(e);
            setError(null);
            const body: Schemas["NewSignal"] = {
              symbol: f.symbol ?? "",
              direction: (f.direction ?? "LONG") as "LONG" | "SHORT",
              entry_price: f.entry_price ?? "",
              confidence: Number(f.confidence ?? "50"),
              ...(f.target_price ? { target_price: f.target_price } : {}),
              ...(f.stop_price ? { stop_price: f.stop_price } : {}),
              ...(f.note ? { note: f.note } : {}),
            };
            try {
              await api.ok(api.api.POST("/v1/journal/signals", { body }));
              (e.target as HTMLFormElement).reset();
              setVersion((v) => v + 1);
            } catch (err) {
              setError(describe(err));
            }
          }}
        >
          <label>
            Symbol <input name="symbol" required />
          </label>
          <label>
            Direction
            <select name="direction">
              <option>LONG</option>
              <option>SHORT</option>
            </select>
          </label>
          <label>
            Entry price <input name="entry_price" inputMode="decimal" required />
          </label>
          <label>
            Target <input name="target_price" inputMode="decimal" />
          </label>
          <label>
            Stop <input name="stop_price" inputMode="decimal" />
          </label>
          <label>
            Confidence (0–100) <input name="confidence" type="number" min={0} max={100} value="50" />
          </label>
          <label>
            Note <input name="note" />
          </label>
          <button type="submit">Record signal</button>
        </form>
        <Failure message={error} />
      </Section>
      <Section title="Signals">
        <Failure message={signals.error} />
        <table>
          <tbody>
            {signals.data?.items.map((s) => (
              <SignalRow key={s.id} signal={s} onClosed={() => setVersion((v) => v + 1)} />
            ))}
          </tbody>
        </table>
      </Section>
    </>
  );
}

function SignalRow({ signal: s, onClosed }: { signal: Schemas["Signal"]; onClosed: () => void }) {
  const api = bourse();
  const [error, setError] = useState<string | null>(null);
  return (
    <tr>
      <td>{s.symbol}</td>
      <td>{s.direction}</td>
      <td>{money(s.entry_price)}</td>
      <td>{s.status}</td>
      <td>{s.status === "CLOSED" ? `${s.outcome} ${num(s.return_pct)}%` : ""}</td>
      <td>
        {s.status === "OPEN" && (
          <form
            class="inline"
            onSubmit={async (e) => {
              const f = form(e);
              try {
                await api.ok(
                  api.api.POST("/v1/journal/signals/{signalId}/close", {
                    params: { path: { signalId: s.id } },
                    body: { exit_price: f.exit_price ?? "" },
                  }),
                );
                onClosed();
              } catch (err) {
                setError(describe(err));
              }
            }}
          >
            <input name="exit_price" placeholder="exit price" size={8} inputMode="decimal" required aria-label={`Exit price of ${s.symbol}`} />
            <button type="submit">Close</button>
          </form>
        )}
        <Failure message={error} />
      </td>
    </tr>
  );
}

// --- jobs --------------------------------------------------------------------------------------

const JOBS = "bourse.jobs";
const knownJobs = (): string[] => JSON.parse(sessionStorage.getItem(JOBS) ?? "[]") as string[];

export function Jobs() {
  const api = bourse();
  const [ids, setIds] = useState<string[]>(knownJobs);
  const [error, setError] = useState<string | null>(null);
  return (
    <>
      <Section title="Refresh market data">
        <form
          class="inline"
          onSubmit={async (e) => {
            const f = form(e);
            setError(null);
            const symbols = (f.symbols ?? "").split(/[\s,]+/).filter(Boolean);
            try {
              const job = await api.ok(api.api.POST("/v1/jobs", { body: { symbols } }));
              const next = [job.job_id, ...ids.filter((i) => i !== job.job_id)].slice(0, 20);
              sessionStorage.setItem(JOBS, JSON.stringify(next));
              setIds(next);
            } catch (err) {
              setError(describe(err));
            }
          }}
        >
          <label>
            Symbols <input name="symbols" placeholder="MSFT, AAPL" required />
          </label>
          <button type="submit">Queue job</button>
        </form>
        <Failure message={error} />
      </Section>
      <Section title="Jobs">
        {ids.length === 0 && <p class="muted">No job yet in this session.</p>}
        {ids.map((id) => (
          <JobProgress key={id} id={id} />
        ))}
      </Section>
    </>
  );
}

type Job = Awaited<ReturnType<typeof loadJob>>;
const loadJob = (id: string) => bourse().ok(bourse().api.GET("/v1/jobs/{id}", { params: { path: { id } } }));

/** Polls a job every second until it finishes. */
function JobProgress({ id }: { id: string }) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let live = true;
    const poll = async () => {
      try {
        const j = await loadJob(id);
        if (!live) return;
        setJob(j);
        if (j.completed_at === null) timer = setTimeout(poll, 1000);
      } catch (err) {
        if (live) setError(describe(err));
      }
    };
    void poll();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [id]);
  return (
    <div class="job" data-testid="job">
      <code>{id}</code> {job && <span data-testid="job-state">{job.state}</span>}
      {job && (
        <>
          <progress max={100} value={job.percent} />
          <span>
            {job.done} done, {job.failed} failed of {job.total}
          </span>
          {job.errors.length > 0 && (
            <ul>
              {job.errors.map((e) => (
                <li key={e.symbol}>
                  {e.symbol}: {e.error}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      <Failure message={error} />
    </div>
  );
}
