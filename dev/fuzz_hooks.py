"""Schemathesis hooks for dev/fuzz-api.sh (loaded through SCHEMATHESIS_HOOKS=fuzz_hooks).

Bearer operations get real access tokens of the accounts dev/fuzz_api.py registered and signed in
for this run (BOURSE_FUZZ_TOKENS: a JSON object of path prefix -> token, the longest prefix
wins), so each account stays within its plan's daily quota; public operations get none. Nothing
here signs in during the run: the fuzzing of `POST /v1/auth/login` soon uses up the address's
30 attempts a minute. A 401 is an answer like any other (the fuzzer sends bad tokens on purpose),
so it never leads to a new token.

`POST /v1/auth/logout` revokes the session it is called with, so each logout case gets a session
of its own, signed in before the run (BOURSE_FUZZ_SPARE_TOKENS); once they are used up, the last
one again (revoked by then: 401).

The ids of the resources dev/fuzz_api.py made for the accounts (BOURSE_FUZZ_FIXTURES) become the
`example` of the matching path parameters when the document is loaded (the document on disk is
not changed), and the fuzzing phase draws either the generated path parameters or the same ones
with the fixture's id: so generated queries and bodies also reach real resources, not only
404s. Every response is recorded (operation, status, phase, mode, URL, the problem's detail) in
BOURSE_FUZZ_CALLS for the figures.

Only loopback addresses are called: the base URL schemathesis is given (dev/loopback_only.py
refuses any other connection or name lookup in the schemathesis process).
"""

from __future__ import annotations

import json
import os
import threading

import loopback_only  # noqa: F401  (refuses any connection beyond 127.0.0.1 in this process)
import schemathesis
from hypothesis import strategies as st

TOKENS: dict[str, str] = json.loads(os.environ.get("BOURSE_FUZZ_TOKENS") or "{}")
_spare = [t for t in os.environ.get("BOURSE_FUZZ_SPARE_TOKENS", "").split() if t]
_lock = threading.Lock()
FIXTURES = json.loads(os.environ.get("BOURSE_FUZZ_FIXTURES") or "{}")
CALLS = os.environ.get("BOURSE_FUZZ_CALLS")

# (method, path, parameter) -> the fixture whose id is its example.
EXAMPLES = {
    ("*", "/v1/portfolios/{id}", "id"): "portfolio",
    ("delete", "/v1/portfolios/{id}", "id"): "doomed_portfolio",
    ("*", "/v1/portfolios/{id}/transactions/{txId}", "txId"): "transaction",
    ("*", "/v1/journal/signals/{signalId}", "signalId"): "signal",
    ("delete", "/v1/journal/signals/{signalId}", "signalId"): "doomed_signal",
    ("*", "/v1/jobs/{id}", "id"): "job",
    ("*", "/v1/watchlists/{id}", "id"): "watchlist",
    ("delete", "/v1/watchlists/{id}", "id"): "doomed_watchlist",
    ("*", "/v1/webhooks/{id}/test", "id"): "webhook",
    ("delete", "/v1/webhooks/{id}", "id"): "doomed_webhook",
    ("*", "/v1/screens/{id}", "id"): "screen",
    ("delete", "/v1/screens/{id}", "id"): "doomed_screen",
    ("*", "/v1/screens/{id}/results", "id"): "screen",
    ("*", "/v1/alerts/{id}", "id"): "alert",
    ("delete", "/v1/alerts/{id}", "id"): "doomed_alert",
    ("*", "/v1/assistant/threads/{id}", "id"): "thread",
    ("delete", "/v1/assistant/threads/{id}", "id"): "doomed_thread",
}


def _is_bearer(ctx) -> bool:
    """Operations the document secures with the bearer scheme, logout aside."""
    raw = ctx.operation.definition.raw
    return bool(raw.get("security")) and raw.get("operationId") != "logout"


def _bearer(case, token: str) -> None:
    case.headers = case.headers or {}
    case.headers["Authorization"] = f"Bearer {token}"


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(_is_bearer)
class AccountSession:
    """The token of the account that owns the operation's path (longest matching prefix)."""

    def get(self, case, context):
        path = case.operation.path
        prefix = max((p for p in TOKENS if path.startswith(p)), key=len)
        return TOKENS[prefix]

    def set(self, case, data, context):
        _bearer(case, data)


@schemathesis.auth(refresh_interval=None, retry_on=[]).apply_to(operation_id="logout")
class SessionPerLogout:
    """A session of its own for each logout case, so no other case loses its token."""

    def get(self, case, context):
        with _lock:
            return _spare.pop() if len(_spare) > 1 else _spare[0]

    def set(self, case, data, context):
        _bearer(case, data)


def _fixture_for(method: str, path: str, name: str) -> str | None:
    """The fixture id for a path parameter: an exact (method, path) entry, else one for the path
    or a path it starts with."""
    for (m, prefix, param), fixture in EXAMPLES.items():
        if param == name and m == method and path == prefix:
            return FIXTURES.get(fixture)
    for (m, prefix, param), fixture in EXAMPLES.items():
        if param == name and m == "*" and (path == prefix or path.startswith(prefix + "/")):
            return FIXTURES.get(fixture)
    return None


@schemathesis.hook
def before_load_schema(context, raw_schema):
    """Path parameters of the fixtures' routes get the fixture's id as their `example`."""
    components = raw_schema.get("components", {}).get("parameters", {})

    def resolve(parameter):
        ref = parameter.get("$ref", "")
        return components[ref.rsplit("/", 1)[-1]] if ref.startswith("#/components/parameters/") else parameter

    for path, item in raw_schema.get("paths", {}).items():
        shared = [resolve(p) for p in item.get("parameters", [])]
        for method, operation in item.items():
            if method not in ("get", "put", "post", "delete", "patch") or not isinstance(operation, dict):
                continue
            own = [resolve(p) for p in operation.get("parameters", [])]
            declared = {(p["name"], p["in"]): p for p in shared + own}
            for (name, where), parameter in declared.items():
                value = _fixture_for(method, path, name) if where == "path" else None
                if value is None:
                    continue
                override = dict(parameter, example=value)
                operation["parameters"] = [p for p in operation.get("parameters", []) if (resolve(p)["name"], resolve(p)["in"]) != (name, where)]
                operation["parameters"].append(override)


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    """The generated path parameters, or the same with the fixtures' ids (Hypothesis chooses)."""
    operation = context.operation
    if not path_parameters:
        return st.just(path_parameters)
    real = dict(path_parameters)
    for name in path_parameters:
        value = _fixture_for(operation.method.lower(), operation.path, name)
        if value is not None:
            real[name] = value
    if real == path_parameters:
        return st.just(path_parameters)
    return st.sampled_from([path_parameters, real])


@schemathesis.hook
def after_call(context, case, response):
    """One JSON line per response in BOURSE_FUZZ_CALLS."""
    if CALLS:
        meta = getattr(case, "meta", None)
        phase = getattr(getattr(getattr(meta, "phase", None), "name", None), "value", None)
        mode = getattr(getattr(getattr(meta, "generation", None), "mode", None), "value", None)
        request = getattr(response, "request", None)
        sent = f"{getattr(request, 'method', '')} {getattr(request, 'url', '')}".strip()
        record = {"operation": case.operation.label, "status": response.status_code, "phase": phase, "mode": mode, "sent": sent}
        if response.status_code >= 400:
            try:
                record["detail"] = str(json.loads(response.content).get("detail", ""))[:200]
            except (ValueError, AttributeError):
                record["detail"] = response.content[:200].decode("utf-8", "replace")
        line = json.dumps(record)
        with _lock, open(CALLS, "a", encoding="utf-8") as out:
            out.write(line + "\n")


@schemathesis.hook
def before_call(context, case, kwargs):
    """What `cargo lambda watch` cannot carry, sent the way API Gateway would hand it on.

    The emulator builds a JSON event from each request, so it answers 500 itself, without calling
    the function, when a header value or a JSON body is not UTF-8 (schemathesis sends header values
    as Latin-1 bytes, and random bytes as a syntax fuzz of JSON bodies). API Gateway passes such
    values on (a body base64-encoded), and the function answers them itself. So:
    - a header value with characters beyond ASCII is sent as its UTF-8 bytes (the same text);
    - body bytes that are not UTF-8 are sent with each invalid sequence replaced by U+FFFD (still
      not JSON).
    """
    headers = case.headers or {}
    for name, value in list(headers.items()):
        if isinstance(value, str) and not value.isascii():
            try:
                headers[name] = value.encode("utf-8").decode("latin-1")
            except UnicodeEncodeError:
                pass
    body = getattr(case, "body", None)
    if isinstance(body, bytes):
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            case.body = body.decode("utf-8", "replace").encode("utf-8")
