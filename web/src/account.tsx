// The account's own pages: the e-mailed links (confirm the address, forgotten and reset
// password) and the signed-in user's account (profile, password, sessions, data, deletion).
import { BourseProblem, type Session } from "@bourse/client";
import { useEffect, useRef, useState } from "preact/hooks";
import { bourse, describe, toSignIn } from "./api";
import { Failure, form, Section, useLoad } from "./pages";

/** Whether a refusal is about the e-mailed token (unknown, expired or used). */
const badToken = (error: unknown) => error instanceof BourseProblem && error.errors.some((e) => e.field === "body.token");

/** The hash route without its token, so a spent token stays out of the history. */
function forgetToken(route: string) {
  history.replaceState(history.state, "", `#/${route}`);
}

const when = (iso: string) => new Date(iso).toLocaleString();

// --- the e-mailed links ------------------------------------------------------------------------

/** `#/verify-email?token=…`: confirms the address as the page opens. */
export function VerifyEmail({ token }: { token: string }) {
  const api = bourse();
  const [state, setState] = useState<"sending" | "confirmed" | "refused" | "failed">("sending");
  const [error, setError] = useState<string | null>(null);
  const sent = useRef(false);
  useEffect(() => {
    if (sent.current) return;
    sent.current = true;
    if (!token) {
      setState("refused");
      return;
    }
    api.ok(api.api.POST("/v1/auth/verify-email", { body: { token } })).then(
      () => {
        forgetToken("verify-email");
        setState("confirmed");
      },
      (err: unknown) => {
        if (badToken(err)) {
          forgetToken("verify-email");
          setState("refused");
        } else {
          setState("failed");
          setError(describe(err));
        }
      },
    );
  }, [token]);
  const signedIn = api.tokens.get() !== null;
  return (
    <Section title="Confirm your e-mail address">
      {state === "sending" && <p class="muted">Confirming…</p>}
      {state === "confirmed" && (
        <>
          <p class="notice" role="status">
            Your address is confirmed. Thank you.
          </p>
          <p>{signedIn ? <a href="#/account">Your account</a> : <a href="#/signin">Sign in</a>}</p>
        </>
      )}
      {state === "refused" && (
        <>
          <p class="error" role="alert">
            This link is invalid or has expired: a confirmation link works once and for 24 hours.
          </p>
          <p class="muted">
            If your address is not confirmed yet, <a href="#/forgot-password">reset your password</a>: the reset link confirms it
            too.
          </p>
        </>
      )}
      {state === "failed" && (
        <>
          <Failure message={error} />
          <p class="muted">Your address could not be confirmed just now: open the link from the e-mail again in a moment.</p>
        </>
      )}
    </Section>
  );
}

/** `#/forgot-password`: asks for a reset link; the answer never tells whether the address has an account. */
export function ForgotPassword() {
  const api = bourse();
  const [error, setError] = useState<string | null>(null);
  const [sentTo, setSentTo] = useState<string | null>(null);
  return (
    <Section title="Forgot your password?">
      <p class="muted">Enter the address you signed up with: we will e-mail it a link to choose a new password.</p>
      <form
        onSubmit={async (e) => {
          const f = form(e);
          setError(null);
          setSentTo(null);
          try {
            await api.ok(api.api.POST("/v1/auth/password-reset", { body: { email: f.email ?? "" } }));
            setSentTo(f.email ?? "");
          } catch (err) {
            setError(describe(err));
          }
        }}
      >
        <label>
          Email <input name="email" type="email" autocomplete="email" required />
        </label>
        <button type="submit">Send me a link</button>
      </form>
      <Failure message={error} />
      {sentTo !== null && (
        <p class="notice" role="status">
          If an account has the address {sentTo}, a link to choose a new password is on its way to it. The link works once and
          for 30 minutes.
        </p>
      )}
      <p class="muted">
        <a href="#/signin">Back to sign in</a>
      </p>
    </Section>
  );
}

/** `#/reset-password?token=…`: sets a new password with the e-mailed token, then on to sign in. */
export function ResetPassword({ token }: { token: string }) {
  const api = bourse();
  const [error, setError] = useState<string | null>(null);
  const [expired, setExpired] = useState(!token);
  return (
    <Section title="Choose a new password">
      {!expired && (
        <form
          onSubmit={async (e) => {
            const f = form(e);
            setError(null);
            try {
              await api.ok(api.api.POST("/v1/auth/password-reset/confirm", { body: { token, password: f.password ?? "" } }));
              forgetToken("reset-password");
              // The reset ended every session, this browser's too.
              if (api.tokens.get()) await api.logout().catch(() => undefined);
              toSignIn("Your new password is set and every device was signed out: sign in with it.");
            } catch (err) {
              if (badToken(err)) setExpired(true);
              else setError(describe(err));
            }
          }}
        >
          <label>
            New password <input name="password" type="password" autocomplete="new-password" minLength={8} maxLength={128} required />
          </label>
          <button type="submit">Set my password</button>
        </form>
      )}
      <Failure message={error} />
      {expired ? (
        <>
          <p class="error" role="alert">
            This link is invalid or has expired: a reset link works once and for 30 minutes.
          </p>
          <p>
            <a href="#/forgot-password">Ask for a new link</a>
          </p>
        </>
      ) : (
        <p class="muted">
          8 to 128 characters that are not easy to guess. Every device signed in to the account will be signed out.
        </p>
      )}
    </Section>
  );
}

// --- the account ---------------------------------------------------------------------------------

/** `#/account`: the signed-in user's profile, password, sessions, data and deletion. */
export function AccountPage() {
  const api = bourse();
  const me = useLoad(() => api.ok(api.api.GET("/v1/me")), []);
  const p = me.data;
  return (
    <>
      <Section title="Account">
        <Failure message={me.error} />
        {p && (
          <dl class="figures" data-testid="profile">
            <div>
              <dt>Email</dt>
              <dd data-testid="profile-email">{p.email}</dd>
            </div>
            <div>
              <dt>Address</dt>
              <dd data-testid="profile-verified">{p.email_verified ? "Confirmed" : "Not confirmed yet"}</dd>
            </div>
            <div>
              <dt>Plan</dt>
              <dd>{p.plan}</dd>
            </div>
            <div>
              <dt>Member since</dt>
              <dd>{new Date(p.created_at).toLocaleDateString()}</dd>
            </div>
          </dl>
        )}
        {p && !p.email_verified && (
          <p class="muted">
            Open the link e-mailed to {p.email} when you signed up to confirm it; a password reset confirms it too.
          </p>
        )}
      </Section>
      <ChangePassword email={p?.email ?? ""} />
      <Sessions />
      <ExportData />
      <DeleteAccount email={p?.email ?? ""} />
    </>
  );
}

/** A hidden username beside a password field, so password managers know whose password it is. */
function Username({ email }: { email: string }) {
  return <input type="email" name="username" autocomplete="username" value={email} readOnly hidden />;
}

function ChangePassword({ email }: { email: string }) {
  const api = bourse();
  const [error, setError] = useState<string | null>(null);
  return (
    <Section title="Change password">
      <form
        onSubmit={async (e) => {
          const f = form(e);
          setError(null);
          try {
            await api.changePassword(f.current_password ?? "", f.new_password ?? "");
            toSignIn("Your password is changed and every device was signed out: sign in with the new password.");
          } catch (err) {
            setError(describe(err));
          }
        }}
      >
        <Username email={email} />
        <label>
          Current password <input name="current_password" type="password" autocomplete="current-password" required />
        </label>
        <label>
          New password{" "}
          <input name="new_password" type="password" autocomplete="new-password" minLength={8} maxLength={128} required />
        </label>
        <button type="submit">Change password</button>
      </form>
      <Failure message={error} />
      <p class="muted">Every device signed in to the account is signed out, this one too; an e-mail tells you of the change.</p>
    </Section>
  );
}

/** A short name for a browser's user agent ("Firefox on Windows"), the whole of it on hover. */
function device(agent: string | null): string {
  if (!agent) return "Unknown device";
  const browser =
    /Edg\//.test(agent) ? "Edge" : /Firefox\//.test(agent) ? "Firefox" : /Chrom(e|ium)\//.test(agent) ? "Chrome" : /Safari\//.test(agent) ? "Safari" : null;
  const system = /Android/.test(agent)
    ? "Android"
    : /iPhone|iPad/.test(agent)
      ? "iOS"
      : /Windows/.test(agent)
        ? "Windows"
        : /Mac OS X|Macintosh/.test(agent)
          ? "macOS"
          : /Linux/.test(agent)
            ? "Linux"
            : null;
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? system ?? agent.slice(0, 60);
}

function Sessions() {
  const api = bourse();
  const list = useLoad(() => api.ok(api.api.GET("/v1/auth/sessions")), []);
  const [error, setError] = useState<string | null>(null);
  const end = async (s: Session) => {
    setError(null);
    try {
      await api.endSession(s);
      if (s.current) toSignIn("You ended this device's session: sign in again to go on.");
      else list.reload();
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <Section title="Sessions">
      <Failure message={list.error} />
      <table data-testid="sessions">
        <thead>
          <tr>
            <th>Device</th>
            <th>Network</th>
            <th>Signed in</th>
            <th>Last used</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((s) => (
            <tr key={s.id} data-current={s.current}>
              <td title={s.user_agent ?? ""}>
                {device(s.user_agent)} {s.current && <strong class="notice">This device</strong>}
              </td>
              <td class="mono">{s.approximate_source ?? "—"}</td>
              <td>{when(s.created_at)}</td>
              <td>{when(s.last_used_at)}</td>
              <td>
                <button type="button" onClick={() => void end(s)} aria-label={s.current ? "End this device's session" : `End the session of ${when(s.created_at)}`}>
                  End
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <button
          type="button"
          onClick={async () => {
            setError(null);
            try {
              await api.logoutEverywhere();
              toSignIn("Every session ended, on every device: sign in again to go on.");
            } catch (err) {
              setError(describe(err));
            }
          }}
        >
          Log out everywhere
        </button>
      </p>
      <Failure message={error} />
      <p class="muted">The network is where a session signed in from, never the address itself.</p>
    </Section>
  );
}

/** Offers `text` as a file download. */
function save(name: string, type: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  // Later, so the browser has read the file before its URL goes.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function ExportData() {
  const api = bourse();
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const day = () => new Date().toISOString().slice(0, 10);
  const run = async (what: string, fetchAndSave: (onPage: (pages: number) => void) => Promise<void>) => {
    setError(null);
    setBusy(`Preparing ${what}…`);
    try {
      await fetchAndSave((pages) => setBusy(`Preparing ${what}… (${pages} page${pages === 1 ? "" : "s"})`));
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(null);
    }
  };
  return (
    <Section title="Your data">
      <p class="muted">
        Everything Bourse holds of you (profile, sessions, usage, portfolios, transactions and journal) as one JSON file, or
        your transactions as a CSV file for a spreadsheet.
      </p>
      <p class="presets">
        <button
          type="button"
          disabled={busy !== null}
          onClick={() =>
            void run("your data", async (onPage) => {
              const whole = await api.exportAll({ onPage });
              save(`bourse-export-${day()}.json`, "application/json", `${JSON.stringify(whole, null, 2)}\n`);
            })
          }
        >
          Download my data (JSON)
        </button>
        <button
          type="button"
          disabled={busy !== null}
          onClick={() =>
            void run("your transactions", async (onPage) => {
              save(`bourse-transactions-${day()}.csv`, "text/csv", await api.exportCsv({ onPage }));
            })
          }
        >
          Download my transactions (CSV)
        </button>
      </p>
      {busy && (
        <p class="muted" role="status">
          {busy}
        </p>
      )}
      <Failure message={error} />
    </Section>
  );
}

function DeleteAccount({ email }: { email: string }) {
  const api = bourse();
  const [error, setError] = useState<string | null>(null);
  return (
    <Section title="Delete my account">
      <p>
        This deletes the account and all of its data (portfolios, transactions, journal, usage and sessions) for good, and signs
        you out everywhere. Download your data first if you want to keep it.
      </p>
      <form
        onSubmit={async (e) => {
          const f = form(e);
          setError(null);
          try {
            await api.deleteAccount(f.password ?? "");
            toSignIn("Your account is being deleted and you are signed out. An e-mail will confirm once all of your data is gone.");
          } catch (err) {
            setError(describe(err));
          }
        }}
      >
        <Username email={email} />
        <label>
          Your password <input name="password" type="password" autocomplete="current-password" required />
        </label>
        <button type="submit" class="danger">
          Delete my account
        </button>
      </form>
      <Failure message={error} />
    </Section>
  );
}
