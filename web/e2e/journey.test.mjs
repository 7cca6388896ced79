// The web app's main journey in headless Chromium (Debian's, driven by playwright-core: no
// browser download) against the local stack: the page served by dev/serve_web.py, every call
// answered by the functions. dev/test-web.sh starts what this needs and sets:
//   BOURSE_WEB_URL   the page (http://127.0.0.1:23000/ on the test profile)
//   BOURSE_SES_URL   the SES stand-in, whose sent mail (GET /_ministack/ses/messages) holds the
//                    links of the account e-mails (default: AWS_ENDPOINT_URL_SESV2)
//   CHROMIUM         the browser (default /usr/bin/chromium)
// A failed step saves a screenshot and the page's HTML in web/e2e/artifacts/.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const WEB = process.env.BOURSE_WEB_URL;
if (!WEB) throw new Error("set BOURSE_WEB_URL (bash dev/test-web.sh starts the stack and the page)");
const SES = process.env.BOURSE_SES_URL ?? process.env.AWS_ENDPOINT_URL_SESV2;
if (!SES) throw new Error("set BOURSE_SES_URL to the SES stand-in (bash dev/test-web.sh does)");
const ARTIFACTS = fileURLToPath(new URL("./artifacts/", import.meta.url));
const TIMEOUT = 30_000;

let browser;
let profile;
let page;
const pageErrors = [];
const failedCalls = [];

before(async () => {
  profile = mkdtempSync(join(tmpdir(), "bourse-chromium-"));
  // launchPersistentContext: a fresh, empty --user-data-dir of our own.
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  // A CORS refusal shows up as a failed request (the browser hides the answer from the page).
  page.on("requestfailed", (r) => failedCalls.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
});

after(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

/** Runs one step; on failure saves what the page showed, then fails. */
async function step(name, body) {
  try {
    await body();
  } catch (error) {
    mkdirSync(ARTIFACTS, { recursive: true });
    const base = join(ARTIFACTS, name.replace(/[^a-z0-9]+/gi, "-"));
    await page.screenshot({ path: `${base}.png`, fullPage: true }).catch(() => {});
    writeFileSync(`${base}.html`, await page.content().catch(() => ""));
    console.error(`step "${name}" failed; screenshot ${base}.png; page errors: ${pageErrors.join(" | ") || "none"}; failed requests: ${failedCalls.join(" | ") || "none"}`);
    throw error;
  }
}

const email = `web-${Date.now()}-${Math.random().toString(16).slice(2, 8)}@example.com`;
const password = "tangerine-Orbit-47-quietly";

test("a new user's journey through the web app", async () => {
  await step("sign up", async () => {
    await page.goto(new URL("#/signup", WEB).href);
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Sign up" }).click();
    await page.getByText("Account created: check your inbox").waitFor();
  });

  await step("sign in", async () => {
    await page.getByLabel("Email", { exact: true }).fill(email);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Portfolios" }).waitFor();
    await page.getByText("No portfolio yet.").waitFor();
  });

  await step("create a portfolio", async () => {
    await page.getByLabel("Name", { exact: true }).fill("Browser core");
    await page.getByRole("button", { name: "Create portfolio" }).click();
    await page.getByRole("heading", { name: "Browser core (USD)" }).waitFor();
    assert.match(new URL(page.url()).hash, /^#\/portfolios\/.+/);
    await page.getByText("No holdings yet").waitFor();
  });

  await step("add a transaction and see the holding", async () => {
    await page.getByLabel("Symbol", { exact: true }).fill("MSFT");
    await page.getByLabel("Quantity", { exact: true }).fill("10");
    await page.getByLabel("Price", { exact: true }).fill("412.50");
    await page.getByLabel("Fees", { exact: true }).fill("1");
    await page.getByRole("button", { name: "Add transaction" }).click();
    await page.getByText("Recorded BUY MSFT.").waitFor();
    const row = page.getByTestId("holdings").locator("tbody tr");
    await row.filter({ hasText: "MSFT" }).waitFor();
    const cells = await row.first().locator("td").allTextContents();
    assert.equal(cells[0], "MSFT");
    assert.equal(cells[1], "10");
    assert.equal(cells[2], "412.60", "average cost includes the fee");
  });

  await step("import a CSV and see its row errors", async () => {
    await page.getByLabel("CSV", { exact: true }).fill("date,type,symbol,quantity,price\n2026-01-15,BUY,AAPL,5,190\n2026-01-16,BUY,AAPL,five,191\n");
    await page.getByRole("button", { name: "Import" }).click();
    const errors = page.getByTestId("import-errors").locator("tbody tr");
    await errors.first().waitFor();
    assert.equal(await errors.count(), 1);
    const cells = await errors.first().locator("td").allTextContents();
    assert.deepEqual(cells.slice(0, 2), ["3", "quantity"]);
  });

  await step("run a screener preset", async () => {
    await page.getByRole("link", { name: "Screener" }).click();
    const presets = page.locator(".presets button");
    await presets.first().waitFor();
    assert.ok((await presets.count()) >= 5, "the presets are listed");
    await presets.first().click();
    await page.getByTestId("stocks").locator("tbody tr").first().waitFor();
  });

  await step("a filter with an error shows the position", async () => {
    const filter = "pe < 15 and and dividend_yield > 2";
    await page.getByLabel("Filter", { exact: true }).fill(filter);
    await page.getByRole("button", { name: "Run" }).click();
    const fault = page.getByTestId("filter-error");
    await fault.waitFor();
    const position = Number(await page.getByTestId("filter-error-position").textContent());
    assert.equal(position, filter.indexOf("and dividend_yield"), "the parser points at the second 'and'");
    const caretLine = (await fault.locator("pre").textContent()).split("\n")[1];
    assert.equal(caretLine, `${" ".repeat(position)}^`);
    assert.equal(await page.getByLabel("Filter", { exact: true }).getAttribute("aria-invalid"), "true");
  });

  await step("a valid filter lists stocks, and a stock shows its price chart", async () => {
    await page.getByLabel("Filter", { exact: true }).fill("pe < 15");
    await page.getByRole("button", { name: "Run" }).click();
    const first = page.getByTestId("stocks").locator("tbody tr a").first();
    await first.waitFor();
    const symbol = await first.textContent();
    await first.click();
    await page.getByRole("heading", { name: new RegExp(`^${symbol} — `) }).waitFor();
    await page.getByRole("img", { name: `${symbol} closing price` }).locator("polyline").waitFor();
  });

  await step("the journal records a signal and counts it", async () => {
    await page.getByRole("link", { name: "Journal" }).click();
    await page.getByLabel("Symbol", { exact: true }).fill("MSFT");
    await page.getByLabel("Entry price", { exact: true }).fill("400");
    await page.getByRole("button", { name: "Record signal" }).click();
    await page.getByRole("button", { name: "Close" }).waitFor();
    await page.getByLabel("Exit price of MSFT", { exact: true }).fill("440");
    await page.getByRole("button", { name: "Close" }).click();
    await page.getByText("WIN 10.00%").waitFor();
    // The list and the statistics reload separately: wait for the statistics to show the close.
    await page.getByTestId("journal-stats").getByText("100.0%").waitFor();
    const stats = await page.getByTestId("journal-stats").locator("dd").allTextContents();
    assert.deepEqual(stats.slice(0, 4), ["1", "0", "1", "100.0%"]);
  });

  await step("a job shows its progress to the end", async () => {
    await page.getByRole("link", { name: "Jobs" }).click();
    await page.getByLabel("Symbols", { exact: true }).fill("MSFT, AAPL");
    await page.getByRole("button", { name: "Queue job" }).click();
    const state = page.getByTestId("job").first().getByTestId("job-state");
    await state.waitFor();
    await page.waitForFunction(
      () => /^completed/.test(document.querySelector("[data-testid=job-state]")?.textContent ?? ""),
      null,
      { timeout: 120_000 },
    );
    assert.match(await page.getByTestId("job").first().textContent(), /2 done, 0 failed of 2/);
  });

  await step("sign out", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("bourse.tokens")), null);
    await page.goto(new URL("#/portfolios", WEB).href);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
  });

  assert.deepEqual(pageErrors, [], "no script error on any page");
  assert.deepEqual(failedCalls, [], "no request failed (a CORS refusal would)");
});

/**
 * The link to `route` (`verify-email`, `reset-password`) in the newest e-mail to `to` that has
 * one, as the SES stand-in keeps what was sent; the poller delivers the mail queue to the
 * consumer, so it is waited for.
 */
async function mailedLink(to, route) {
  const pattern = new RegExp(`https?://\\S*/#/${route}\\?token=[A-Za-z0-9_-]+`);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const answer = await fetch(`${SES}/_ministack/ses/messages`);
    assert.equal(answer.status, 200);
    const { messages = {} } = await answer.json();
    const mine = Object.values(messages)
      .flat()
      .filter((m) => (m.To ?? []).includes(to))
      .sort((a, b) => (b.Timestamp ?? 0) - (a.Timestamp ?? 0));
    for (const m of mine) {
      const link = pattern.exec(m.BodyText ?? "")?.[0];
      if (link) return link;
    }
    if (Date.now() > deadline) throw new Error(`no e-mail to ${to} with a ${route} link: ${mine.map((m) => m.Subject).join(" | ") || "none"}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Opens an e-mailed link's page (its hash route) on the app under test, wherever the link's host. */
async function openLink(link) {
  const hash = new URL(link).hash;
  await page.goto(new URL(hash, WEB).href);
}

/** Clicks `button` and returns the download it starts: its file name and text. */
async function download(button) {
  const [file] = await Promise.all([page.waitForEvent("download"), button.click()]);
  return { name: file.suggestedFilename(), text: readFileSync(await file.path(), "utf8") };
}

test("the account's e-mailed links and the account page", async () => {
  const address = `web-account-${Date.now()}-${Math.random().toString(16).slice(2, 8)}@example.com`;
  const newPassword = "marmalade-Lantern-83-gently";

  await step("sign up and confirm the address with the e-mailed link", async () => {
    await page.goto(new URL("#/signup", WEB).href);
    await page.getByLabel("Email", { exact: true }).fill(address);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Sign up" }).click();
    await page.getByText("Account created: check your inbox").waitFor();
    const link = await mailedLink(address, "verify-email");
    await openLink(link);
    await page.getByText("Your address is confirmed.").waitFor();
    assert.equal(new URL(page.url()).hash, "#/verify-email", "the spent token is dropped from the address bar");
  });

  await step("forgot password: ask for a link", async () => {
    await page.goto(new URL("#/signin", WEB).href);
    await page.getByRole("link", { name: "Forgot your password?" }).click();
    await page.getByRole("heading", { name: "Forgot your password?" }).waitFor();
    await page.getByLabel("Email", { exact: true }).fill(address);
    await page.getByRole("button", { name: "Send me a link" }).click();
    await page.getByText(`If an account has the address ${address}`).waitFor();
  });

  await step("the e-mailed reset link sets a new password", async () => {
    const link = await mailedLink(address, "reset-password");
    await openLink(link);
    await page.getByRole("heading", { name: "Choose a new password" }).waitFor();
    await page.getByLabel("New password", { exact: true }).fill("password");
    await page.getByRole("button", { name: "Set my password" }).click();
    await page.getByRole("alert").getByText("body.password").waitFor(); // too short and too common: the field's error
    await page.getByLabel("New password", { exact: true }).fill(newPassword);
    await page.getByRole("button", { name: "Set my password" }).click();
    await page.getByText("Your new password is set").waitFor();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    // The link works once.
    await openLink(link);
    await page.getByLabel("New password", { exact: true }).fill("another-Harbour-58-slowly");
    await page.getByRole("button", { name: "Set my password" }).click();
    await page.getByText("This link is invalid or has expired").waitFor();
  });

  await step("the old password is refused and the new one signs in", async () => {
    await page.goto(new URL("#/signin", WEB).href);
    await page.getByLabel("Email", { exact: true }).fill(address);
    await page.getByLabel("Password", { exact: true }).fill(password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").waitFor();
    await page.getByLabel("Password", { exact: true }).fill(newPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Portfolios" }).waitFor();
  });

  await step("the account page: the profile, and this device among the sessions", async () => {
    await page.getByRole("link", { name: "Account", exact: true }).click();
    await page.getByRole("heading", { name: "Account", exact: true }).waitFor();
    assert.equal(await page.getByTestId("profile-email").textContent(), address);
    assert.equal(await page.getByTestId("profile-verified").textContent(), "Confirmed");
    const rows = page.getByTestId("sessions").locator("tbody tr");
    await rows.first().waitFor();
    const current = page.getByTestId("sessions").locator('tbody tr[data-current="true"]');
    assert.equal(await current.count(), 1);
    assert.match(await current.textContent(), /This device/);
    assert.match(await current.locator("td").nth(1).textContent(), /^(—|\S+\/(24|48))$/, "the network, never the address");
  });

  await step("download my data: one JSON document, and the transactions as CSV", async () => {
    const json = await download(page.getByRole("button", { name: "Download my data (JSON)" }));
    assert.match(json.name, /^bourse-export-\d{4}-\d{2}-\d{2}\.json$/);
    const doc = JSON.parse(json.text);
    assert.equal(doc.format, "bourse-export-1");
    assert.equal(doc.profile.email, address);
    assert.equal(doc.next_cursor, undefined, "every page merged into one document");
    assert.ok(doc.sessions.length >= 1);
    const csv = await download(page.getByRole("button", { name: "Download my transactions (CSV)" }));
    assert.match(csv.name, /^bourse-transactions-\d{4}-\d{2}-\d{2}\.csv$/);
    assert.equal(csv.text.split(/\r?\n/)[0], "portfolio_id,portfolio_name,id,trade_date,type,symbol,quantity,price,fees,amount,ratio,currency,source,lots");
  });

  await step("delete the account: signed out, and the address signs in no more", async () => {
    await page.getByLabel("Your password", { exact: true }).fill("not-my-Password-12");
    await page.getByRole("button", { name: "Delete my account" }).click();
    await page.getByRole("alert").waitFor(); // a wrong password deletes nothing
    await page.getByLabel("Your password", { exact: true }).fill(newPassword);
    await page.getByRole("button", { name: "Delete my account" }).click();
    await page.getByText("Your account is being deleted").waitFor();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("bourse.tokens")), null);
    await page.getByLabel("Email", { exact: true }).fill(address);
    await page.getByLabel("Password", { exact: true }).fill(newPassword);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").waitFor();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("bourse.tokens")), null);
  });

  assert.deepEqual(pageErrors, [], "no script error on any page");
  assert.deepEqual(failedCalls, [], "no request failed (a CORS refusal would)");
});
