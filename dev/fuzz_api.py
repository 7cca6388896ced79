#!/usr/bin/env python3
"""Fuzzes every HTTP function against openapi.yaml with schemathesis (run by dev/fuzz-api.sh,
which starts the test profile's stand-ins and `cargo lambda watch` first).

For each function: accounts of its own (register + login through the auth function, fresh
emails each run; one per group of routes, so none reaches the free plan's daily quota), a few
things they own so that generated requests also reach the answers of real resources (portfolios
with transactions, signals, a job; their ids become examples of the path parameters, see
dev/fuzz_hooks.py), then `schemathesis run` against http://127.0.0.1:<port>/lambda-url/<function>
over that function's operations (the three functions in parallel), with these checks only:

  not_a_server_error, status_code_conformance, content_type_conformance,
  response_schema_conformance

Prints the figures (operations, requests, failures, time) and exits 1 on any failure or error.
Every request goes to 127.0.0.1: dev/loopback_only.py refuses anything else, here and in the
schemathesis processes.

    python3 dev/fuzz_api.py --port 29000 [--max-examples N] [--seed S] [--function auth ...]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import yaml

import loopback_only  # noqa: F401  (refuses any connection beyond 127.0.0.1 in this process)

DEV_DIR = Path(__file__).resolve().parent
REPO = DEV_DIR.parent
DOCUMENT = REPO / "openapi.yaml"

# The operations each function serves, by path (`lambda-url/<function>` is the function's base).
FUNCTIONS = {
    "auth": r"^/v1/(auth/|me$|usage$)",
    "portfolio": r"^/v1/(portfolio/|portfolios|journal/|watchlists|inbox|screens|alerts|webhooks|notifications/|me/export$)",
    "screener": r"^/v1/(screener/|stocks|sectors$|signals/|jobs)",
    # The operator routes: fuzzed with an ordinary user's token, so every generated request must
    # get the documented 404 (the refusal path, whatever the body, query or headers). Their admin
    # answers are checked by tests/integration/tests/ops.rs: a warm computes ~600 entries, too
    # slow to repeat for every generated example.
    "ops": r"^/v1/admin/",
    "assistant": r"^/v1/assistant/",
}
# Functions without a health route of their own (the ops function answers only admins).
WITHOUT_HEALTH = {"ops"}
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
METHODS = ("get", "put", "post", "delete", "patch", "options", "head")


def say(text: str) -> None:
    print(f"fuzz: {text}", flush=True)


def call(method: str, url: str, body: object | None = None, token: str | None = None, content_type: str = "application/json") -> tuple[int, object]:
    data = None
    headers = {}
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        headers["content-type"] = content_type
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            text = response.read()
            return response.status, json.loads(text) if text else None
    except urllib.error.HTTPError as err:
        text = err.read()
        try:
            return err.code, json.loads(text)
        except ValueError:
            return err.code, text[:300]


def expect(what: str, result: tuple[int, object], *statuses: int) -> object:
    status, body = result
    if status not in statuses:
        raise SystemExit(f"fuzz: {what} answered {status}, expected {statuses}: {body}")
    return body


def operations_by_function(document: dict) -> dict[str, list[str]]:
    """Every operation of the document under exactly one function, or exit."""
    out: dict[str, list[str]] = {name: [] for name in FUNCTIONS}
    for path, item in document["paths"].items():
        owners = [name for name, pattern in FUNCTIONS.items() if re.search(pattern, path)]
        if len(owners) != 1:
            raise SystemExit(f"fuzz: {path} belongs to {owners or 'no function'}; fix FUNCTIONS in {__file__}")
        out[owners[0]] += [f"{method.upper()} {path}" for method in item if method in METHODS]
    return out


class Account:
    """A fresh account on the auth function and a session's access token."""

    def __init__(self, base: str, label: str):
        self.base = base
        self.email = f"fuzz-{label}-{int(time.time())}-{secrets.token_hex(4)}@example.com"
        self.password = f"Fz-{secrets.token_urlsafe(18)}-q7"
        expect(f"register {self.email}", call("POST", f"{base}/auth/v1/auth/register", {"email": self.email, "password": self.password}), 202)
        self.token = self.login()

    def login(self) -> str:
        for _ in range(4):
            status, body = call("POST", f"{self.base}/auth/v1/auth/login", {"email": self.email, "password": self.password})
            if status == 200:
                return body["access_token"]
            if status != 429:
                raise SystemExit(f"fuzz: login of {self.email} answered {status}: {body}")
            time.sleep(61)
        raise SystemExit("fuzz: login kept answering 429")


def portfolio_fixtures(base: str, token: str) -> dict[str, str]:
    """A portfolio with transactions and another one to delete: their ids become the examples of
    the path parameters."""
    p = f"{base}/portfolio/v1/portfolios"
    kept = expect("create portfolio", call("POST", p, {"name": "Fuzz core"}, token), 201)["id"]
    doomed = expect("create portfolio", call("POST", p, {"name": "Fuzz to delete"}, token), 201)["id"]
    expect("buy", call("POST", f"{p}/{kept}/transactions", {"type": "BUY", "symbol": "MSFT", "trade_date": "2026-01-15", "quantity": "10", "price": "412.50", "fees": "1"}, token), 201)
    expect("buy", call("POST", f"{p}/{kept}/transactions", {"type": "BUY", "symbol": "AAPL", "trade_date": "2026-02-02", "quantity": "5", "price": "230"}, token), 201)
    dividend = expect("dividend", call("POST", f"{p}/{kept}/transactions", {"type": "DIVIDEND", "symbol": "MSFT", "trade_date": "2026-03-12", "amount": "8.30"}, token), 201)
    return {"portfolio": kept, "doomed_portfolio": doomed, "transaction": dividend["transaction"]["id"]}


def journal_fixtures(base: str, token: str) -> dict[str, str]:
    """Two signals: one to read and close, one to delete."""
    p = f"{base}/portfolio/v1/journal/signals"
    signal = {"symbol": "AAPL", "direction": "LONG", "entry_price": "189.50", "target_price": "205", "stop_price": "182", "confidence": 70, "source": "rsi-oversold"}
    readable = expect("signal", call("POST", p, signal, token), 201)["id"]
    doomed = expect("signal", call("POST", p, dict(signal, symbol="MSFT"), token), 201)["id"]
    return {"signal": readable, "doomed_signal": doomed}


def watchlist_fixtures(base: str, token: str) -> dict[str, str]:
    """A watchlist to read and change, and one to delete."""
    p = f"{base}/portfolio/v1/watchlists"
    kept = expect("watchlist", call("POST", p, {"name": "Fuzz tech", "symbols": ["AAPL", "MSFT"]}, token), 201)["id"]
    doomed = expect("watchlist", call("POST", p, {"name": "Fuzz to delete"}, token), 201)["id"]
    return {"watchlist": kept, "doomed_watchlist": doomed}


def webhook_fixtures(base: str, token: str) -> dict[str, str]:
    """An endpoint to test, and one to delete (loopback receivers: the local stage reaches no other)."""
    p = f"{base}/portfolio/v1/webhooks"
    kept = expect("webhook", call("POST", p, {"url": "http://127.0.0.1:9/fuzz"}, token), 201)["id"]
    doomed = expect("webhook", call("POST", p, {"url": "http://127.0.0.1:9/fuzz-doomed"}, token), 201)["id"]
    return {"webhook": kept, "doomed_webhook": doomed}


def screen_fixtures(base: str, token: str) -> dict[str, str]:
    """A saved screen to read, change and run, and one to delete."""
    p = f"{base}/portfolio/v1/screens"
    kept = expect("screen", call("POST", p, {"name": "Fuzz cheap", "filter": "pe < 20"}, token), 201)["id"]
    doomed = expect("screen", call("POST", p, {"name": "Fuzz to delete", "filter": "pe > 5"}, token), 201)["id"]
    return {"screen": kept, "doomed_screen": doomed}


def alert_fixtures(base: str, token: str) -> dict[str, str]:
    """An alert to read and replace, and one to delete."""
    p = f"{base}/portfolio/v1/alerts"
    kept = expect("alert", call("POST", p, {"kind": "price-above", "symbol": "AAPL", "price": "500"}, token), 201)["id"]
    doomed = expect("alert", call("POST", p, {"kind": "day-move", "symbol": "MSFT", "percent": "5"}, token), 201)["id"]
    return {"alert": kept, "doomed_alert": doomed}


def assistant_fixtures(base: str, token: str) -> dict[str, str]:
    """A thread to read, rename and ask in, and one to delete."""
    p = f"{base}/assistant/v1/assistant/threads"
    kept = expect("thread", call("POST", p, {"title": "Fuzz questions"}, token), 201)["id"]
    doomed = expect("thread", call("POST", p, {"title": "Fuzz to delete"}, token), 201)["id"]
    return {"thread": kept, "doomed_thread": doomed}


def screener_fixtures(base: str, token: str) -> dict[str, str]:
    job = expect("create job", call("POST", f"{base}/screener/v1/jobs", {"symbols": ["AAPL", "MSFT"]}, token), 202)
    return {"job": job["job_id"]}


# Per function, the accounts (one per path prefix, so each stays within the free plan's daily
# quota of 1,000 requests) and the resources each one owns.
ACCOUNTS = {
    "auth": {"/v1": None},
    "portfolio": {
        "/v1/portfolios": portfolio_fixtures,
        "/v1/journal": journal_fixtures,
        "/v1/watchlists": watchlist_fixtures,
        "/v1/inbox": None,
        "/v1/webhooks": webhook_fixtures,
        "/v1/notifications": None,
        "/v1/screens": screen_fixtures,
        "/v1/alerts": alert_fixtures,
        "/v1/me/export": None,
    },
    "screener": {"/v1": screener_fixtures},
    "ops": {"/v1": None},
    # Each question also makes the tools' reads, metered as the asker's requests: the threads'
    # account is not the one of the other routes.
    "assistant": {"/v1/assistant/threads": assistant_fixtures, "/v1/assistant": None},
}


def start_function(name: str, args, base: str, operations: list[str], env: dict[str, str], out_dir: Path) -> dict:
    """Starts schemathesis over one function's operations; its output goes to <name>.log."""
    report = out_dir / f"{name}.json"
    calls = out_dir / f"{name}.calls.jsonl"
    log = out_dir / f"{name}.log"
    for stale in (report, calls):
        stale.unlink(missing_ok=True)
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", str(DOCUMENT),
        "--url", f"{base}/{name}",
        "--include-path-regex", FUNCTIONS[name],
        "--checks", CHECKS,
        "--phases", args.phases,
        "--max-examples", str(args.max_examples),
        # One thread per run: CPython 3.11's ast.parse is not thread-safe, and Hypothesis parses
        # lambdas' source while it builds strategies. The functions run in parallel instead.
        "--workers", "1",
        "--seed", str(args.seed),
        "--request-timeout", "60",
        "--generation-database", "none",
        # The generator's own health check, not a check of the API: a bulk body of up to 100
        # entries, each with patterned fields, is valid only rarely as a whole, so with some seeds
        # Hypothesis reports that it discards too many draws. Every request it does send is still
        # checked by every check above.
        "--suppress-health-check", "filter_too_much",
        "--no-color",
        "--report", "json",
        "--report-json-path", str(report),
    ]
    env = dict(env, BOURSE_FUZZ_CALLS=str(calls))
    say(f"{name}: {len(operations)} operations: schemathesis {' '.join(command[3:])}")
    # Run from the output directory: schemathesis keeps its replay cache under the working directory.
    process = subprocess.Popen(command, env=env, cwd=out_dir, stdout=log.open("w"), stderr=subprocess.STDOUT)
    return {"name": name, "process": process, "started": time.monotonic(), "report": report, "calls": calls, "log": log, "operations": operations}


def finish_function(run: dict, timeout: float) -> dict:
    try:
        code = run["process"].wait(timeout=max(1.0, timeout))
    except subprocess.TimeoutExpired:
        run["process"].kill()
        run["process"].wait()
        say(f"{run['name']}: stopped after the time limit")
        code = -1
    elapsed = time.monotonic() - run["started"]
    print(f"\n== schemathesis: {run['name']} ({run['log']})", flush=True)
    print(run["log"].read_text(errors="replace"), flush=True)
    try:
        summary = json.loads(run["report"].read_text())
    except (OSError, ValueError):
        summary = {}
    requests = [json.loads(line) for line in run["calls"].read_text().splitlines()] if run["calls"].exists() else []
    return {"name": run["name"], "exit": code, "seconds": elapsed, "report": summary, "requests": requests, "operations": run["operations"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True, help="port of `cargo lambda watch`")
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("BOURSE_FUZZ_EXAMPLES", "25")))
    parser.add_argument("--phases", default=os.environ.get("BOURSE_FUZZ_PHASES", "examples,coverage,fuzzing,stateful"))
    parser.add_argument("--logout-sessions", type=int, default=8, help="sessions signed in before the run for the logout cases")
    parser.add_argument("--time-limit", type=float, default=float(os.environ.get("BOURSE_FUZZ_TIME_LIMIT", "240")), help="seconds before a run still going is stopped (and fails)")
    parser.add_argument("--seed", type=int, default=int(os.environ.get("BOURSE_FUZZ_SEED") or secrets.randbelow(2**31)))
    parser.add_argument("--function", action="append", choices=sorted(FUNCTIONS), help="only these (default: all)")
    parser.add_argument("--out", default=str(REPO / ".run" / "test" / "fuzz"), help="reports and the requests sent")
    args = parser.parse_args()

    started = time.monotonic()
    base = f"http://127.0.0.1:{args.port}/lambda-url"
    document = yaml.safe_load(DOCUMENT.read_text())
    by_function = operations_by_function(document)
    total_operations = sum(len(ops) for ops in by_function.values())
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    say(f"seed {args.seed} (BOURSE_FUZZ_SEED={args.seed} repeats this run); {args.max_examples} examples per operation and phase")

    for name in (n for n in FUNCTIONS if n not in WITHOUT_HEALTH):
        status, _ = call("GET", f"{base}/{name}/v1/{name}/health")
        if status != 200:
            raise SystemExit(f"fuzz: {name} health answered {status}")

    # Environment of schemathesis and of its hooks: loopback only, no proxy.
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update(
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(DEV_DIR),
        SCHEMATHESIS_HOOKS="fuzz_hooks",
    )
    # Every account and its resources first: once the auth function is being fuzzed, its login
    # route soon refuses this address for the rest of the minute (30 attempts).
    prepared = []
    for name in args.function or list(FUNCTIONS):
        tokens: dict[str, str] = {}
        fixtures: dict[str, str] = {}
        spare: list[str] = []
        for prefix, make in ACCOUNTS[name].items():
            account = Account(base, name)
            tokens[prefix] = account.token
            if make is not None:
                fixtures.update(make(base, account.token))
            if name == "auth":
                spare = [account.login() for _ in range(args.logout_sessions)]
        function_env = dict(
            env,
            BOURSE_FUZZ_TOKENS=json.dumps(tokens),
            BOURSE_FUZZ_SPARE_TOKENS=" ".join(spare),
            BOURSE_FUZZ_FIXTURES=json.dumps(fixtures),
        )
        prepared.append((name, function_env))
    runs = [start_function(name, args, base, by_function[name], function_env, out_dir) for name, function_env in prepared]
    deadline = time.monotonic() + args.time_limit
    results = [finish_function(run, deadline - time.monotonic()) for run in runs]

    print()
    print("== API fuzzing: figures")
    print(f"{'function':<10} {'operations':>10} {'tested':>6} {'requests':>8} {'2xx':>5} {'3xx':>4} {'4xx':>5} {'5xx':>4} {'failures':>8} {'errors':>6} {'seconds':>7}")
    totals = collections.Counter()
    failed = False
    for r in results:
        ops = r["report"].get("operations") or {}
        classes = collections.Counter(f"{c['status'] // 100}xx" for c in r["requests"])
        failures = sum(f["count"] for f in r["report"].get("failures", []))
        errors = sum(e["count"] for e in r["report"].get("errors", []))
        tested = ops.get("tested", 0)
        if r["exit"] != 0 or failures or errors or not r["report"] or tested != len(r["operations"]):
            failed = True
        row = dict(operations=len(r["operations"]), tested=tested, requests=len(r["requests"]), failures=failures, errors=errors, **classes)
        totals.update(row)
        print(f"{r['name']:<10} {row['operations']:>10} {tested:>6} {row['requests']:>8} {classes['2xx']:>5} {classes['3xx']:>4} {classes['4xx']:>5} {classes['5xx']:>4} {failures:>8} {errors:>6} {r['seconds']:>7.1f}")
    elapsed = time.monotonic() - started
    print(f"{'total':<10} {totals['operations']:>10} {totals['tested']:>6} {totals['requests']:>8} {totals['2xx']:>5} {totals['3xx']:>4} {totals['4xx']:>5} {totals['5xx']:>4} {totals['failures']:>8} {totals['errors']:>6} {elapsed:>7.1f}")
    if totals["operations"] != total_operations:
        say(f"only {totals['operations']} of the document's {total_operations} operations were run")
        failed = failed or args.function is None
    untested = [op for r in results for op in r["operations"] if not any(c["operation"] == op for c in r["requests"])]
    if untested:
        say("operations without a request: " + ", ".join(untested))
        failed = True
    for r in results:
        for group in r["report"].get("failures", []):
            say(f"FAILURE {r['name']}: {group['title']} ×{group['count']} in {', '.join(group['operations'])}")
        for group in r["report"].get("errors", []):
            say(f"ERROR {r['name']}: {group['title']} ×{group['count']}")
    print(f"seed {args.seed}; reports and every request sent: {out_dir}")
    print(("FAIL" if failed else "ok") + f": {totals['operations']} operations, {totals['requests']} requests, {totals['failures']} failures, {totals['errors']} errors in {elapsed:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
