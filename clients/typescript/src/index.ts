// The Bourse API client: openapi-fetch over the types that openapi-typescript generates from
// openapi.yaml (src/schema.ts, never edited by hand), plus what every caller would otherwise
// write again: the bearer token, one refresh and one retry when the access token is refused,
// an Idempotency-Key on every POST, problem+json answers as typed errors, and the local stack's
// per-function URL layout.
import createClient, { type Client } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths } from "./schema.js";
export type Schemas = components["schemas"];
export type TokenPair = Schemas["TokenPair"];
export type Problem = Schemas["Problem"];
export type FieldError = NonNullable<Problem["errors"]>[number];

/** The stable problem types of the API (README, "Errors"). */
export const PROBLEM_TYPES = [
  "validation",
  "malformed-json",
  "unsupported-media-type",
  "unauthorized",
  "forbidden",
  "not-found",
  "method-not-allowed",
  "conflict",
  "payload-too-large",
  "unprocessable",
  "too-many-requests",
  "unavailable",
  "internal",
] as const;
export type ProblemKind = (typeof PROBLEM_TYPES)[number];

const PROBLEM_PREFIX = "urn:bourse:problem:";

/** An RFC 9457 answer of the API, thrown by {@link BourseClient.ok}. */
export class BourseProblem extends Error {
  readonly status: number;
  /** The stable part of `type` (`validation`, `not-found`, …); `unknown` for a type this client does not list. */
  readonly kind: ProblemKind | "unknown";
  readonly problem: Problem;
  /** `Retry-After` in seconds, when the answer had one (429, 503). */
  readonly retryAfter: number | null;

  constructor(problem: Problem, status: number, retryAfter: number | null) {
    super(`${problem.title || status}: ${problem.detail}`);
    this.name = "BourseProblem";
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
    const slug = problem.type?.startsWith(PROBLEM_PREFIX) ? problem.type.slice(PROBLEM_PREFIX.length) : "";
    this.kind = (PROBLEM_TYPES as readonly string[]).includes(slug) ? (slug as ProblemKind) : "unknown";
  }

  get errors(): FieldError[] {
    return this.problem.errors ?? [];
  }

  get requestId(): string {
    return this.problem.request_id;
  }
}

/** A response that was neither a success nor problem+json (a proxy's HTML page, a dropped connection). */
export class BourseHttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = "BourseHttpError";
    this.status = status;
  }
}

/**
 * Where the tokens live. The default keeps them in memory; a web app may keep them in
 * sessionStorage (see web/).
 */
export interface TokenStore {
  get(): TokenPair | null;
  set(tokens: TokenPair | null): void;
}

export function memoryTokenStore(initial: TokenPair | null = null): TokenStore {
  let tokens = initial;
  return {
    get: () => tokens,
    set: (next) => {
      tokens = next;
    },
  };
}

/**
 * How paths map to URLs. `gateway`: every path under one base URL (API Gateway, as deployed).
 * `local`: `cargo lambda watch` serves each function under `/lambda-url/<function>/` (dev/up.sh).
 */
export type Layout = "gateway" | "local";

/** The function that serves a path, as template.yaml routes it. */
export function functionOf(path: string): "auth" | "portfolio" | "screener" | "ops" | "assistant" {
  if (path.startsWith("/v1/auth/") || path === "/v1/me" || path === "/v1/usage") return "auth";
  if (path.startsWith("/v1/admin/")) return "ops";
  if (path.startsWith("/v1/assistant/")) return "assistant";
  if (path === "/v1/portfolio/health" || path === "/v1/portfolios" || path.startsWith("/v1/portfolios/")) return "portfolio";
  if (path.startsWith("/v1/journal/") || path === "/v1/me/export") return "portfolio";
  if (path === "/v1/watchlists" || path.startsWith("/v1/watchlists/")) return "portfolio";
  if (path === "/v1/inbox" || path.startsWith("/v1/inbox/")) return "portfolio";
  if (path === "/v1/webhooks" || path.startsWith("/v1/webhooks/") || path.startsWith("/v1/notifications/")) return "portfolio";
  if (path === "/v1/screens" || path.startsWith("/v1/screens/")) return "portfolio";
  if (path === "/v1/alerts" || path.startsWith("/v1/alerts/")) return "portfolio";
  return "screener";
}

export interface BourseOptions {
  /** The API's base URL: the HTTP API's invoke URL, or the local stack's `http://127.0.0.1:19000`. */
  baseUrl: string;
  layout?: Layout;
  tokens?: TokenStore;
  /** Called after every change of the tokens (login, refresh, logout, a refused refresh → null). */
  onTokens?: (tokens: TokenPair | null) => void;
  /** The fetch to use (default: the global one). */
  fetch?: (request: Request) => Promise<Response>;
  /** Makes the Idempotency-Key of a POST that has none; `false` sends none. Default: a random UUID. */
  idempotencyKey?: (() => string) | false;
}

// Sent without the access token: the public account routes, and logout, which names the session by
// its refresh token (so a client whose access token has expired can still sign out).
const PUBLIC_AUTH = new Set([
  "/v1/auth/register",
  "/v1/auth/verify-email",
  "/v1/auth/password-reset",
  "/v1/auth/password-reset/confirm",
  "/v1/auth/login",
  "/v1/auth/refresh",
  "/v1/auth/logout",
]);

/**
 * Whether a 401 calls for a refresh: the request carried an access token and the answer's
 * `WWW-Authenticate` says `error="invalid_token"` (RFC 6750: expired, revoked or malformed). A
 * challenge without that code (no usable token was sent) is not cured by a new token. A browser
 * hides the header from a cross-origin page unless the API exposes it; then a 401 to a request
 * that carried a token is taken as a refused token.
 */
export function refusedToken(response: Response): boolean {
  if (response.status !== 401) return false;
  const challenge = response.headers.get("www-authenticate");
  if (challenge === null) return true;
  return /error\s*=\s*"?invalid_token"?/i.test(challenge);
}

/** The byte position in a screener filter that the parser reports (`at position N: …`), if any. */
export function filterErrorPosition(problem: Problem | BourseProblem): { position: number; message: string } | null {
  const doc = problem instanceof BourseProblem ? problem.problem : problem;
  for (const e of doc.errors ?? []) {
    const m = /at position (\d+):\s*(.*)$/s.exec(e.reason);
    if (m) return { position: Number(m[1]), message: m[2] ?? "" };
  }
  return null;
}

export interface BourseClient {
  /** Every operation of openapi.yaml, typed: `api.GET("/v1/stocks/{symbol}", { params: { path: { symbol } } })`. */
  api: Client<paths>;
  tokens: TokenStore;
  /** The data of a success, or throws {@link BourseProblem} (or {@link BourseHttpError}). */
  ok<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T>;
  /** Answers alike whether or not the address has an account; the address gets a verification link. */
  register(email: string, password: string): Promise<Schemas["AcceptedAnswer"]>;
  /** Logs in and keeps the tokens; a session this client already held is ended first (best effort). */
  login(email: string, password: string): Promise<TokenPair>;
  /** Exchanges the refresh token once (concurrent callers share one exchange); null when refused. */
  refresh(): Promise<TokenPair | null>;
  /** Ends the session (named by its refresh token, so it works with an expired access token) and forgets the tokens. */
  logout(): Promise<void>;
  /** `POST /v1/portfolios/{id}/import` with a CSV file's text. */
  importCsv(portfolioId: string, csv: string | Blob): Promise<ImportResult>;
  /** `POST /v1/auth/password`. Every session of the account ends, this one too: the tokens are forgotten. */
  changePassword(currentPassword: string, newPassword: string): Promise<void>;
  /** `DELETE /v1/auth/sessions/{id}`; ending the session this client holds (`current`) forgets the tokens. */
  endSession(session: Pick<Session, "id" | "current">): Promise<void>;
  /** `DELETE /v1/auth/sessions`: logs out everywhere, this session too, and forgets the tokens. */
  logoutEverywhere(): Promise<void>;
  /** `DELETE /v1/me` with the password: the account's erasure begins and the tokens are forgotten. */
  deleteAccount(password: string): Promise<Schemas["AcceptedAnswer"]>;
  /**
   * `GET /v1/me/export` page after page (following `next_cursor`), merged into one document: the
   * first page's profile, sessions, usage and portfolios, and every page's transactions and signals.
   */
  exportAll(options?: ExportOptions): Promise<AccountExport>;
  /**
   * `GET /v1/me/export?format=csv` page after page (following the `Link` header's next page),
   * concatenated: the transactions as one CSV file, its header row once.
   */
  exportCsv(options?: ExportOptions): Promise<string>;
}

export type Session = Schemas["Session"];
export type AccountExport = Schemas["AccountExport"];

export interface ExportOptions {
  /** Called after each page with how many pages have arrived so far. */
  onPage?: (pages: number) => void;
}

/**
 * The cursor of the next page named by a `Link` header (`<…?format=csv&cursor=…>; rel="next"`),
 * or null when there is none (the last page). A browser page sees the header only because the API
 * lists `link` among the headers CORS exposes.
 */
export function nextCursor(link: string | null): string | null {
  for (const part of (link ?? "").split(",")) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!m || !/(?:^|;)\s*rel\s*=\s*"?next"?\s*(?:;|$)/i.test(m[2] ?? "")) continue;
    const cursor = new URL(m[1] ?? "", "http://link.invalid").searchParams.get("cursor");
    if (cursor) return cursor;
  }
  return null;
}

export type ImportResult =
  paths["/v1/portfolios/{id}/import"]["post"]["responses"]["200"]["content"]["application/json"];

function randomKey(): string {
  return globalThis.crypto.randomUUID();
}

export function createBourseClient(options: BourseOptions): BourseClient {
  const base = options.baseUrl.replace(/\/+$/, "");
  const layout = options.layout ?? "gateway";
  const tokens = options.tokens ?? memoryTokenStore();
  const send = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  const makeKey = options.idempotencyKey === undefined ? randomKey : options.idempotencyKey;
  const setTokens = (next: TokenPair | null) => {
    tokens.set(next);
    options.onTokens?.(next);
  };

  // The path of the API (what openapi.yaml names), whatever the base URL's own path.
  const apiPath = (url: URL) => {
    const basePath = new URL(base).pathname.replace(/\/+$/, "");
    return url.pathname.startsWith(basePath) ? url.pathname.slice(basePath.length) || "/" : url.pathname;
  };

  const target = (request: Request): { url: string; path: string } => {
    const url = new URL(request.url);
    const path = apiPath(url);
    if (layout === "local") {
      return { url: `${base}/lambda-url/${functionOf(path)}${path}${url.search}`, path };
    }
    return { url: request.url, path };
  };

  let refreshing: Promise<TokenPair | null> | null = null;
  const refresh = (): Promise<TokenPair | null> => {
    refreshing ??= (async () => {
      const current = tokens.get();
      if (!current) return null;
      const response = await send(
        new Request(`${base}${layout === "local" ? "/lambda-url/auth" : ""}/v1/auth/refresh`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ refresh_token: current.refresh_token }),
        }),
      );
      if (response.ok) {
        const next = (await response.json()) as TokenPair;
        setTokens(next);
        return next;
      }
      if (response.status === 401 || response.status === 400) {
        // Used, expired, revoked (401) or not a refresh token at all (400): the session is over.
        setTokens(null);
        return null;
      }
      throw await toError(response);
    })().finally(() => {
      refreshing = null;
    });
    return refreshing;
  };

  const bourseFetch = async (request: Request): Promise<Response> => {
    const { url, path } = target(request);
    const headers = new Headers(request.headers);
    if (request.method === "POST" && makeKey && !headers.has("idempotency-key")) {
      headers.set("idempotency-key", makeKey());
    }
    const body = request.body === null ? undefined : await request.arrayBuffer();
    const attempt = (access: string | undefined) => {
      const h = new Headers(headers);
      if (access && !h.has("authorization")) h.set("authorization", `Bearer ${access}`);
      return send(new Request(url, { method: request.method, headers: h, body, signal: request.signal }));
    };
    const carriesToken = !PUBLIC_AUTH.has(path) && !headers.has("authorization");
    const sent = carriesToken ? tokens.get()?.access_token : undefined;
    const response = await attempt(sent);
    if (!sent || !refusedToken(response)) return response;
    // One refresh (shared with concurrent requests), one retry. Another request may have
    // refreshed while this one was in flight: then its token is used without a second exchange.
    const now = tokens.get()?.access_token;
    const fresh = now && now !== sent ? now : (await refresh())?.access_token;
    if (!fresh) return response;
    await response.body?.cancel();
    return attempt(fresh);
  };

  const api = createClient<paths>({ baseUrl: base, fetch: bourseFetch });

  const ok = async <T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> => {
    const { data, error, response } = await call;
    if (response.ok) return data as T;
    if (error && typeof error === "object" && "type" in error && "status" in error) {
      throw new BourseProblem(error as Problem, response.status, retryAfter(response));
    }
    throw new BourseHttpError(response.status, `HTTP ${response.status} from ${response.url}`);
  };

  return {
    api,
    tokens,
    ok,
    register: (email, password) => ok(api.POST("/v1/auth/register", { body: { email, password } })),
    login: async (email, password) => {
      const pair = await ok(api.POST("/v1/auth/login", { body: { email, password } }));
      // Signing in again replaces the session this client held: end it rather than leave it live.
      const previous = tokens.get();
      if (previous) {
        await api.POST("/v1/auth/logout", { body: { refresh_token: previous.refresh_token } }).catch(() => undefined);
      }
      setTokens(pair);
      return pair;
    },
    refresh,
    logout: async () => {
      const current = tokens.get();
      try {
        if (current) await ok(api.POST("/v1/auth/logout", { body: { refresh_token: current.refresh_token } }));
      } finally {
        setTokens(null);
      }
    },
    importCsv: (portfolioId, csv) =>
      ok(
        api.POST("/v1/portfolios/{id}/import", {
          params: { path: { id: portfolioId } },
          body: csv as string,
          bodySerializer: (b: unknown) => b as string,
          headers: { "content-type": "text/csv" },
        }),
      ),
    changePassword: async (currentPassword, newPassword) => {
      await ok(api.POST("/v1/auth/password", { body: { current_password: currentPassword, new_password: newPassword } }));
      setTokens(null);
    },
    endSession: async (session) => {
      await ok(api.DELETE("/v1/auth/sessions/{id}", { params: { path: { id: session.id } } }));
      if (session.current) setTokens(null);
    },
    logoutEverywhere: async () => {
      await ok(api.DELETE("/v1/auth/sessions"));
      setTokens(null);
    },
    deleteAccount: async (password) => {
      const answer = await ok(api.DELETE("/v1/me", { body: { password } }));
      setTokens(null);
      return answer;
    },
    exportAll: async (options = {}) => {
      // The operation answers JSON or CSV; without `format=csv` it is the JSON document.
      const jsonPage = async (cursor?: string): Promise<AccountExport> => {
        const call = api.GET("/v1/me/export", { params: { query: cursor ? { cursor } : {} } });
        const data = await ok(call);
        if (typeof data === "string") throw new BourseHttpError((await call).response.status, "the export answered text, not JSON");
        return data;
      };
      const seen = new Set<string>();
      let page = await jsonPage();
      const whole: AccountExport = { ...page, transactions: [...page.transactions], signals: [...page.signals] };
      let pages = 1;
      options.onPage?.(pages);
      while (page.next_cursor) {
        const cursor = page.next_cursor;
        if (seen.has(cursor)) throw new Error("the export named the same page twice");
        seen.add(cursor);
        page = await jsonPage(cursor);
        whole.transactions.push(...page.transactions);
        whole.signals.push(...page.signals);
        options.onPage?.(++pages);
      }
      delete whole.next_cursor;
      return whole;
    },
    exportCsv: async (options = {}) => {
      const seen = new Set<string>();
      const parts: string[] = [];
      let cursor: string | null = null;
      do {
        const query: { format: "csv"; cursor?: string } = cursor ? { format: "csv", cursor } : { format: "csv" };
        const call = api.GET("/v1/me/export", { params: { query }, parseAs: "text" });
        parts.push(await ok(call));
        options.onPage?.(parts.length);
        cursor = nextCursor((await call).response.headers.get("link"));
        if (cursor !== null && seen.has(cursor)) throw new Error("the export named the same page twice");
        if (cursor !== null) seen.add(cursor);
      } while (cursor !== null);
      return parts.join("");
    },
  };
}

function retryAfter(response: Response): number | null {
  const value = response.headers.get("retry-after");
  return value && /^\d+$/.test(value) ? Number(value) : null;
}

async function toError(response: Response): Promise<Error> {
  const type = response.headers.get("content-type") ?? "";
  if (type.includes("json")) {
    const doc = (await response.json()) as Problem;
    return new BourseProblem(doc, response.status, retryAfter(response));
  }
  return new BourseHttpError(response.status, `HTTP ${response.status} from ${response.url}`);
}
