// The client against the real local stack (dev/test-web.sh starts it, or `bash dev/up.sh`):
// BOURSE_API_URL is the stack's base URL, BOURSE_API_LAYOUT `local` (cargo lambda watch) or
// `gateway`. Nothing here is mocked: every answer comes from the functions.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  BourseProblem,
  createBourseClient,
  filterErrorPosition,
  functionOf,
  memoryTokenStore,
  nextCursor,
  refusedToken,
  type BourseOptions,
  type TokenPair,
} from "../src/index.js";

const baseUrl = process.env.BOURSE_API_URL ?? "";
const layout = (process.env.BOURSE_API_LAYOUT ?? "local") as "local" | "gateway";
if (!baseUrl) {
  throw new Error("set BOURSE_API_URL to a running stack (bash dev/test-web.sh starts one and runs these tests)");
}

const PASSWORD = "tangerine-Orbit-47-quietly";
const email = () => `ts-${Date.now()}-${randomBytes(4).toString("hex")}@example.com`;

/** A client whose every request is recorded (method, path, headers) before it goes to the stack. */
function recorded(extra: Partial<BourseOptions> = {}) {
  const seen: { method: string; path: string; headers: Headers }[] = [];
  const client = createBourseClient({
    baseUrl,
    layout,
    fetch: async (request) => {
      seen.push({ method: request.method, path: new URL(request.url).pathname, headers: new Headers(request.headers) });
      return fetch(request);
    },
    ...extra,
  });
  return { client, seen };
}

async function signedIn(extra: Partial<BourseOptions> = {}) {
  const r = recorded(extra);
  const address = email();
  await r.client.register(address, PASSWORD);
  await r.client.login(address, PASSWORD);
  r.seen.length = 0;
  return { ...r, address };
}

/**
 * One signed-in user for the tests that leave the session as it is (an address may try 30 logins
 * a minute): each gets a client of its own over a copy of the tokens.
 */
let shared: Promise<TokenPair> | null = null;
async function sharedSession(extra: Partial<BourseOptions> = {}) {
  shared ??= (async () => {
    const c = createBourseClient({ baseUrl, layout });
    const address = email();
    await c.register(address, PASSWORD);
    return c.login(address, PASSWORD);
  })();
  const pair = await shared;
  return recorded({ tokens: memoryTokenStore({ ...pair }), ...extra });
}

/** The problem a call failed with; fails the test when the call succeeded. */
async function failure(call: Promise<unknown>): Promise<BourseProblem> {
  try {
    await call;
  } catch (e) {
    expect(e).toBeInstanceOf(BourseProblem);
    return e as BourseProblem;
  }
  throw new Error("expected a problem answer, the call succeeded");
}

/** The same token with its signature's last characters changed: the stack refuses it. */
function tampered(token: string): string {
  const tail = token.slice(-4);
  return token.slice(0, -4) + (tail === "AAAA" ? "BBBB" : "AAAA");
}

describe("layout", () => {
  it("routes every path of openapi.yaml to the function template.yaml sends it to", () => {
    const doc = readFileSync(new URL("../../../openapi.yaml", import.meta.url), "utf8");
    const paths = [...doc.matchAll(/^ {2}(\/v1\/[^:]*):\s*$/gm)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(30);
    // The gateway's routes of each function: `Path: /v1/...` under `<Name>Function:`.
    const template = readFileSync(new URL("../../../template.yaml", import.meta.url), "utf8");
    const routes: { fn: string; path: string }[] = [];
    let fn = "";
    for (const line of template.split("\n")) {
      const resource = /^ {2}(Auth|Portfolio|Screener|EnrichConsumer|Ops|Assistant|AssistantStream)Function:/.exec(line);
      if (resource) fn = resource[1]!.toLowerCase();
      const route = /^\s+Path: (\/v1\/\S+)/.exec(line);
      if (route) routes.push({ fn, path: route[1]! });
    }
    const served = (path: string) =>
      routes.find((r) => (r.path.endsWith("/{proxy+}") ? path.startsWith(r.path.slice(0, -"{proxy+}".length)) : r.path === path));
    for (const path of paths) {
      expect(served(path)?.fn, path).toBe(functionOf(path));
    }
  });

  it("reaches every function's health through the one base URL", async () => {
    const { client } = recorded();
    const [a, p, s] = await Promise.all([
      client.ok(client.api.GET("/v1/auth/health")),
      client.ok(client.api.GET("/v1/portfolio/health")),
      client.ok(client.api.GET("/v1/screener/health")),
    ]);
    expect([a.service, p.service, s.service]).toEqual(["auth", "portfolio", "screener"]);
  });
});

describe("tokens", () => {
  it("logs in, sends the bearer token, and reads typed answers", async () => {
    const { client, seen, address } = await signedIn();
    const me = await client.ok(client.api.GET("/v1/me"));
    expect(me.email).toBe(address);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.headers.get("authorization")).toBe(`Bearer ${client.tokens.get()!.access_token}`);
  });

  it("the stack refuses a bad access token with error=\"invalid_token\", and a missing one without", async () => {
    const { client } = await sharedSession();
    const url = `${baseUrl}${layout === "local" ? "/lambda-url/auth" : ""}/v1/me`;
    const bad = await fetch(url, { headers: { authorization: `Bearer ${tampered(client.tokens.get()!.access_token)}` } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
    expect(refusedToken(bad)).toBe(true);
    const none = await fetch(url);
    expect(none.status).toBe(401);
    expect(refusedToken(none)).toBe(false);
  });

  it("signs out with the refresh token, even once the access token is refused", async () => {
    const { client, seen } = await signedIn();
    const pair = client.tokens.get()!;
    client.tokens.set({ ...pair, access_token: tampered(pair.access_token) });
    await client.logout();
    expect(client.tokens.get()).toBeNull();
    expect(seen.map((r) => [r.path.replace(/^\/lambda-url\/\w+/, ""), r.headers.has("authorization")])).toEqual([
      ["/v1/auth/logout", false],
    ]);
    // Both tokens of the session stopped working.
    const me = await fetch(`${baseUrl}${layout === "local" ? "/lambda-url/auth" : ""}/v1/me`, {
      headers: { authorization: `Bearer ${pair.access_token}` },
    });
    expect(me.status).toBe(401);
    const after = createBourseClient({ baseUrl, layout, tokens: memoryTokenStore(pair) });
    expect(await after.refresh()).toBeNull();
  });

  it("refreshes once and retries once when the access token is refused", async () => {
    const changes: (TokenPair | null)[] = [];
    const { client, seen } = await signedIn({ onTokens: (t) => changes.push(t) });
    const before = client.tokens.get()!;
    client.tokens.set({ ...before, access_token: tampered(before.access_token) });
    changes.length = 0;

    const me = await client.ok(client.api.GET("/v1/me"));
    expect(me.email).toMatch(/@example\.com$/);
    expect(seen.map((r) => `${r.method} ${r.path.replace(/^\/lambda-url\/\w+/, "")}`)).toEqual([
      "GET /v1/me",
      "POST /v1/auth/refresh",
      "GET /v1/me",
    ]);
    const after = client.tokens.get()!;
    expect(after.refresh_token).not.toBe(before.refresh_token);
    expect(changes).toEqual([after]);
    // Refresh tokens rotate: the one the client used is spent.
    const again = createBourseClient({ baseUrl, layout, tokens: memoryTokenStore(before) });
    expect(await again.refresh()).toBeNull();
  });

  it("shares one refresh among concurrent requests refused together", async () => {
    const { client, seen } = await signedIn();
    const pair = client.tokens.get()!;
    client.tokens.set({ ...pair, access_token: tampered(pair.access_token) });
    const answers = await Promise.all([
      client.ok(client.api.GET("/v1/me")),
      client.ok(client.api.GET("/v1/portfolios")),
      client.ok(client.api.GET("/v1/journal/stats")),
    ]);
    expect(answers).toHaveLength(3);
    expect(seen.filter((r) => r.path.endsWith("/v1/auth/refresh"))).toHaveLength(1);
  });

  it("gives up after one refused refresh: a typed 401, and the tokens are forgotten", async () => {
    const changes: (TokenPair | null)[] = [];
    const { client, seen } = await signedIn({ onTokens: (t) => changes.push(t) });
    const pair = client.tokens.get()!;
    client.tokens.set({ ...pair, access_token: tampered(pair.access_token), refresh_token: "not-a-refresh-token" });
    const error = await client.ok(client.api.GET("/v1/me")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BourseProblem);
    expect((error as BourseProblem).status).toBe(401);
    expect((error as BourseProblem).kind).toBe("unauthorized");
    expect(seen).toHaveLength(2); // the request and the refused refresh; no retry
    expect(client.tokens.get()).toBeNull();
    expect(changes.at(-1)).toBeNull();
  });

  it("ends the session it held when it signs in again", async () => {
    const { client, address } = await signedIn();
    const first = client.tokens.get()!;
    await client.login(address, PASSWORD);
    const stale = createBourseClient({ baseUrl, layout, tokens: memoryTokenStore({ ...first }) });
    expect(await stale.refresh()).toBeNull(); // the first session was ended, not left live
    expect((await client.ok(client.api.GET("/v1/me"))).email).toBe(address);
  });

  it("never refreshes for a public route's 401 (wrong password)", async () => {
    const { client, seen, address } = await signedIn();
    const error = await client.login(address, "wrong-Password-1234").catch((e: unknown) => e);
    expect((error as BourseProblem).kind).toBe("unauthorized");
    expect(seen).toHaveLength(1);
  });

  it("reads the refusal from WWW-Authenticate", () => {
    const answer = (challenge?: string) =>
      new Response(null, { status: 401, headers: challenge ? { "www-authenticate": challenge } : {} });
    expect(refusedToken(answer('Bearer realm="bourse", error="invalid_token"'))).toBe(true);
    expect(refusedToken(answer('Bearer realm="bourse"'))).toBe(false);
    expect(refusedToken(answer())).toBe(true); // hidden from a cross-origin page
    expect(refusedToken(answer('Bearer realm="bourse", error="insufficient_scope"'))).toBe(false);
    expect(refusedToken(new Response(null, { status: 403 }))).toBe(false);
  });
});

describe("idempotency", () => {
  it("sets an Idempotency-Key on every POST, a new one each time", async () => {
    const { client, seen } = await sharedSession();
    const a = await client.ok(client.api.POST("/v1/portfolios", { body: { name: "One", currency: "USD" } }));
    const b = await client.ok(client.api.POST("/v1/portfolios", { body: { name: "Two", currency: "USD" } }));
    expect(a.id).not.toBe(b.id);
    const keys = seen.map((r) => r.headers.get("idempotency-key"));
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[0]).not.toBe(keys[1]);
    await client.ok(client.api.GET("/v1/portfolios"));
    expect(seen[2]!.headers.has("idempotency-key")).toBe(false);
  });

  it("a retry under the same key is answered from the stored response", async () => {
    const key = `order-${randomBytes(6).toString("hex")}`;
    const { client } = await sharedSession({ idempotencyKey: () => key });
    const first = await client.api.POST("/v1/portfolios", { body: { name: "Core", currency: "USD" } });
    const second = await client.api.POST("/v1/portfolios", { body: { name: "Core", currency: "USD" } });
    expect(first.response.status).toBe(201);
    expect(second.response.headers.get("idempotent-replayed")).toBe("true");
    expect(second.data!.id).toBe(first.data!.id);
  });
});

describe("problems", () => {
  it("surfaces problem+json as typed errors", async () => {
    const { client } = await sharedSession();
    const missing = await failure(
      client.ok(client.api.GET("/v1/portfolios/{id}", { params: { path: { id: "p_doesnotexist" } } })),
    );
    expect(missing).toBeInstanceOf(BourseProblem);
    expect([missing.status, missing.kind]).toEqual([404, "not-found"]);
    expect(missing.requestId).toBeTruthy();

    const invalid = await failure(client.ok(client.api.POST("/v1/portfolios", { body: { name: "", currency: "USD" } })));
    expect([invalid.status, invalid.kind]).toEqual([400, "validation"]);
    expect(invalid.errors.map((e) => e.field)).toContain("body.name");
  });

  it("gives the screener parser's error position", async () => {
    const { client } = recorded();
    const filter = "pe < 15 and and dividend_yield > 2";
    const error = await failure(client.ok(client.api.POST("/v1/screener/query", { body: { filter } })));
    expect([error.status, error.kind]).toEqual([400, "validation"]);
    const at = filterErrorPosition(error);
    expect(at).not.toBeNull();
    expect(filter.slice(at!.position)).toMatch(/^and dividend_yield/);
    const page = await client.ok(client.api.POST("/v1/screener/query", { body: { filter: "pe < 15", limit: 5 } }));
    expect(page.items.length).toBeGreaterThan(0);
  });

  it("imports a CSV and reports each bad row", async () => {
    const { client } = await sharedSession();
    const p = await client.ok(client.api.POST("/v1/portfolios", { body: { name: "Import", currency: "USD" } }));
    const bad = await failure(client.importCsv(p.id, "date,type,symbol,quantity,price\n2026-01-15,BUY,MSFT,10,412.50\n2026-01-16,BUY,AAPL,ten,190\n"));
    expect([bad.status, bad.kind]).toEqual([422, "unprocessable"]);
    expect(bad.errors).toEqual([expect.objectContaining({ row: 3, column: "quantity" })]);
    const good = await client.importCsv(p.id, "date,type,symbol,quantity,price\n2026-01-15,BUY,MSFT,10,412.50\n");
    expect([good.rows, good.added]).toEqual([1, 1]);
    const holdings = await client.ok(client.api.GET("/v1/portfolios/{id}/holdings", { params: { path: { id: p.id } } }));
    expect(holdings.items.map((h) => [h.symbol, h.quantity])).toEqual([["MSFT", "10"]]);
  });
});

describe("the account", () => {
  it("changes the password: every session ends, the tokens are forgotten, the new one signs in", async () => {
    const changes: (TokenPair | null)[] = [];
    const { client, address } = await signedIn({ onTokens: (t) => changes.push(t) });
    const before = client.tokens.get()!;
    const wrong = await failure(client.changePassword("not-the-Password-99", "another-Harbour-58-slowly"));
    expect([wrong.status, wrong.kind]).toEqual([403, "forbidden"]);
    expect(client.tokens.get()).toEqual(before); // a refusal keeps the session
    const weak = await failure(client.changePassword(PASSWORD, "password1"));
    expect([weak.status, weak.kind]).toEqual([400, "validation"]);
    expect(weak.errors.map((e) => e.field)).toEqual(["body.new_password"]);

    changes.length = 0;
    await client.changePassword(PASSWORD, "another-Harbour-58-slowly");
    expect(client.tokens.get()).toBeNull();
    expect(changes).toEqual([null]);
    const stale = createBourseClient({ baseUrl, layout, tokens: memoryTokenStore({ ...before }) });
    expect(await stale.refresh()).toBeNull();
    expect((await failure(client.login(address, PASSWORD))).status).toBe(401);
    await client.login(address, "another-Harbour-58-slowly");
    expect((await client.ok(client.api.GET("/v1/me"))).email).toBe(address);
  });

  it("lists the sessions, this one marked, and ends one, then all", async () => {
    const { client, address } = await signedIn();
    const other = createBourseClient({ baseUrl, layout });
    await other.login(address, PASSWORD);
    const { items } = await client.ok(client.api.GET("/v1/auth/sessions"));
    expect(items).toHaveLength(2);
    expect(items.filter((s) => s.current)).toHaveLength(1);
    const theirs = items.find((s) => !s.current)!;

    await client.endSession(theirs);
    expect(client.tokens.get()).not.toBeNull(); // not this client's session
    expect(await other.refresh()).toBeNull();
    expect((await client.ok(client.api.GET("/v1/auth/sessions"))).items.map((s) => s.id)).not.toContain(theirs.id);

    const access = client.tokens.get()!.access_token;
    await client.logoutEverywhere();
    expect(client.tokens.get()).toBeNull();
    const me = await fetch(`${baseUrl}${layout === "local" ? "/lambda-url/auth" : ""}/v1/me`, {
      headers: { authorization: `Bearer ${access}` },
    });
    expect(me.status).toBe(401);
  });

  it("ending its own session forgets the tokens", async () => {
    const { client } = await signedIn();
    const mine = (await client.ok(client.api.GET("/v1/auth/sessions"))).items.find((s) => s.current)!;
    await client.endSession(mine);
    expect(client.tokens.get()).toBeNull();
  });

  it("exports every page as one document, and the transactions as one CSV", async () => {
    const { client, address } = await signedIn();
    const p = await client.ok(client.api.POST("/v1/portfolios", { body: { name: "Export", currency: "USD" } }));
    // More transactions than one page holds (1,000), so both exports follow a cursor.
    const rows = Array.from({ length: 1_050 }, (_, i) => `2026-01-${String(2 + (i % 20)).padStart(2, "0")},BUY,MSFT,${i + 1},100`);
    const imported = await client.importCsv(p.id, `date,type,symbol,quantity,price\n${rows.join("\n")}\n`);
    expect(imported.added).toBe(1_050);
    await client.ok(client.api.POST("/v1/journal/signals", { body: { symbol: "MSFT", direction: "LONG", entry_price: "400", confidence: 60 } }));

    const jsonPages: number[] = [];
    const whole = await client.exportAll({ onPage: (n) => jsonPages.push(n) });
    expect(jsonPages).toEqual([1, 2]);
    expect(whole.format).toBe("bourse-export-1");
    expect(whole.profile?.email).toBe(address);
    expect(whole.portfolios.map((x) => x.id)).toEqual([p.id]);
    expect(whole.transactions).toHaveLength(1_050);
    expect(new Set(whole.transactions.map((t) => t.id)).size).toBe(1_050);
    expect(whole.signals.map((s) => s.symbol)).toEqual(["MSFT"]);
    expect(whole.sessions.length).toBeGreaterThan(0);
    expect(whole.next_cursor).toBeUndefined();

    const csvPages: number[] = [];
    const csv = await client.exportCsv({ onPage: (n) => csvPages.push(n) });
    expect(csvPages).toEqual([1, 2]);
    const lines = csv.trimEnd().split(/\r?\n/);
    expect(lines[0]).toBe("portfolio_id,portfolio_name,id,trade_date,type,symbol,quantity,price,fees,amount,ratio,currency,source,lots");
    expect(lines.filter((l) => l.startsWith("portfolio_id,"))).toHaveLength(1);
    expect(lines).toHaveLength(1 + 1_050);
    expect(new Set(lines.slice(1).map((l) => l.split(",")[2])).size).toBe(1_050);
  });

  it("reads the next page's cursor from a Link header", () => {
    expect(nextCursor('</v1/me/export?format=csv&cursor=0a1b>; rel="next"')).toBe("0a1b");
    expect(nextCursor("<https://api.example/v1/me/export?cursor=ff&format=csv>; rel=next")).toBe("ff");
    expect(nextCursor('</v1/me/export?cursor=00>; rel="prev", </v1/me/export?cursor=01>; rel="next"')).toBe("01");
    expect(nextCursor('</v1/me/export?cursor=00>; rel="prev"')).toBeNull();
    expect(nextCursor(null)).toBeNull();
  });

  it("deletes the account with its password: the tokens are forgotten and the address signs in no more", async () => {
    const { client, address } = await signedIn();
    const wrong = await failure(client.deleteAccount("not-the-Password-99"));
    expect([wrong.status, wrong.kind]).toEqual([403, "forbidden"]);
    expect(client.tokens.get()).not.toBeNull();
    const answer = await client.deleteAccount(PASSWORD);
    expect(answer.status).toBe("accepted");
    expect(client.tokens.get()).toBeNull();
    expect((await failure(client.login(address, PASSWORD))).status).toBe(401);
  });
});

describe("a browser page on http://localhost:3000", () => {
  // What a browser sends: a preflight for the bearer POST, then the request with its Origin.
  for (const origin of ["http://localhost:3000", "http://127.0.0.1:3000"]) {
    it(`is allowed by the local stack with no setting (${origin})`, async () => {
      const url = `${baseUrl}${layout === "local" ? "/lambda-url/portfolio" : ""}/v1/portfolios`;
      const preflight = await fetch(url, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization, content-type, idempotency-key",
        },
      });
      expect(preflight.status).toBeLessThan(300);
      expect(preflight.headers.get("access-control-allow-origin")).toBe(origin);
      expect(preflight.headers.get("access-control-allow-headers")).toContain("idempotency-key");
      const { client } = await sharedSession();
      const answer = await fetch(url, {
        method: "POST",
        headers: {
          origin,
          authorization: `Bearer ${client.tokens.get()!.access_token}`,
          "content-type": "application/json",
        },
        body: JSON.stringify({ name: "From a page", currency: "USD" }),
      });
      expect(answer.status).toBe(201);
      expect(answer.headers.get("access-control-allow-origin")).toBe(origin);
      expect(answer.headers.get("access-control-expose-headers")).toContain("x-request-id");
    });
  }

  it("may read the CSV export's Link header (CORS exposes it)", async () => {
    const origin = "http://localhost:3000";
    const { client } = await sharedSession();
    const answer = await fetch(`${baseUrl}${layout === "local" ? "/lambda-url/portfolio" : ""}/v1/me/export?format=csv`, {
      headers: { origin, authorization: `Bearer ${client.tokens.get()!.access_token}` },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("access-control-allow-origin")).toBe(origin);
    const exposed = (answer.headers.get("access-control-expose-headers") ?? "").split(",").map((h) => h.trim());
    expect(exposed).toContain("link");
    expect(exposed).toContain("www-authenticate");
  });

  it("is not granted to another origin", async () => {
    const url = `${baseUrl}${layout === "local" ? "/lambda-url/screener" : ""}/v1/sectors`;
    const answer = await fetch(url, { headers: { origin: "http://evil.example" } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get("access-control-allow-origin")).toBeNull();
  });
});
