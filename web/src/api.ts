// The one client of the app. Where the API is comes from /config.json, so the same static
// build serves the local stack and a deployed one (replace config.json next to index.html).
import { BourseProblem, createBourseClient, type BourseClient, type Layout, type TokenPair } from "@bourse/client";

export interface AppConfig {
  api_url: string;
  layout: Layout;
}

const TOKENS = "bourse.tokens";

function storedTokens(): TokenPair | null {
  try {
    const text = sessionStorage.getItem(TOKENS);
    return text ? (JSON.parse(text) as TokenPair) : null;
  } catch {
    return null;
  }
}

let client: BourseClient | null = null;
const listeners = new Set<(signedIn: boolean) => void>();

export async function connect(): Promise<BourseClient> {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  const config = (await response.json()) as AppConfig;
  let tokens = storedTokens();
  client = createBourseClient({
    baseUrl: config.api_url,
    layout: config.layout,
    tokens: {
      get: () => tokens,
      set: (next) => {
        tokens = next;
        if (next) sessionStorage.setItem(TOKENS, JSON.stringify(next));
        else sessionStorage.removeItem(TOKENS);
      },
    },
    onTokens: (next) => listeners.forEach((l) => l(next !== null)),
  });
  return client;
}

export function bourse(): BourseClient {
  if (!client) throw new Error("connect() first");
  return client;
}

export function onSession(listener: (signedIn: boolean) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** A message for any failure: the problem's detail and its field errors, or the error's text. */
export function describe(error: unknown): string {
  if (error instanceof BourseProblem) {
    const fields = error.errors.filter((e) => e.row === undefined).map((e) => `${e.field}: ${e.reason}`);
    return fields.length > 0 ? fields.join("; ") : error.problem.detail;
  }
  return error instanceof Error ? error.message : String(error);
}

/** The character index of a UTF-8 byte offset in `text` (the parser reports byte positions). */
export function charIndexOfByte(text: string, byte: number): number {
  const encoder = new TextEncoder();
  let bytes = 0;
  let index = 0;
  for (const ch of text) {
    if (bytes >= byte) return index;
    bytes += encoder.encode(ch).length;
    index += ch.length;
  }
  return index;
}

export function go(path: string) {
  location.hash = `#/${path}`;
}

const NOTICE = "bourse.notice";

/** Opens the sign-in page with a message above the form (after sign-up, a reset, a deletion…). */
export function toSignIn(notice: string) {
  sessionStorage.setItem(NOTICE, notice);
  go("signin");
}

/** The message left for the sign-in page, once. */
export function takeNotice(): string | null {
  const notice = sessionStorage.getItem(NOTICE);
  sessionStorage.removeItem(NOTICE);
  return notice;
}
