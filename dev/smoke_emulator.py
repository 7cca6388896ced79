"""The smoke journey against the stack dev/deploy-emulator.sh deployed into ministack.

    smoke_emulator.py --state .run/emulator/stack.json --run-dir .run/emulator \
        --cache-ca .run/emulator/tls/ca.pem --cache-host localhost --cache-port 36379

HTTP goes through the emulated API Gateway (the HTTP API's execute-api host on ministack's port),
so every request is an API Gateway v2 (payload 2.0) event built by the emulator and answered by the
deployed function; the assistant's streamed answers go through its function URL (the URL's own host
on ministack's port, RESPONSE_STREAM). The scheduled refresh is invoked with the schedule's own Input through Lambda
Invoke. Each check prints `ok` or `FAIL`; the exit status is 1 when any failed. On a failure the
functions' last log lines (CloudWatch Logs in ministack) are printed.

Python standard library + boto3 (the tools venv). Talks to 127.0.0.1 only.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig

PASSWORD = "tangerine-Orbit-47-quietly"
ORIGIN = "http://localhost:3000"  # the template's default AllowedOrigins


class Smoke:
    def __init__(self, args):
        self.state = json.loads(Path(args.state).read_text())
        self.run_dir = Path(args.run_dir)
        self.endpoint = self.state["endpoint"]
        self.port = int(self.endpoint.rsplit(":", 1)[1])
        self.args = args
        config = BotoConfig(retries={"max_attempts": 2}, read_timeout=180, connect_timeout=5)
        self.aws = lambda service: boto3.client(
            service, endpoint_url=self.endpoint, region_name=self.state["region"], config=config,
            aws_access_key_id="test", aws_secret_access_key="test")
        apis = list(self.state["apis"].values())
        if len(apis) != 1:
            raise SystemExit(f"expected one HTTP API in the stack, found {len(apis)}")
        self.api_id = apis[0]["apiId"]
        self.functions = self.state["functions"]  # logical id -> function name
        self.passed, self.failed = 0, []
        self.started = time.monotonic()

    # -- reporting ------------------------------------------------------------------------------
    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        elapsed = time.monotonic() - self.started
        if ok:
            self.passed += 1
            detail = detail if len(detail) <= 120 else detail[:117] + "..."
            print(f"ok   {name}{f' ({detail})' if detail else ''}  [{elapsed:.1f} s]", flush=True)
        else:
            self.failed.append(name)
            print(f"FAIL {name}{f': {detail}' if detail else ''}  [{elapsed:.1f} s]", flush=True)
        return ok

    # -- HTTP through the emulated API Gateway ---------------------------------------------------
    def http(self, method: str, path: str, body=None, token=None, headers=None, timeout=120, host=None):
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method)
        # The HTTP API's own host name (or a function URL's), as a client of the deployed API would send it.
        request.add_header("Host", host or f"{self.api_id}.execute-api.localhost:{self.port}")
        if data is not None:
            request.add_header("content-type", "application/json")
        if token:
            request.add_header("authorization", f"Bearer {token}")
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, raw, response_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, raw, response_headers = error.code, error.read(), error.headers
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return status, parsed, response_headers

    @staticmethod
    def brief(value) -> str:
        text = value if isinstance(value, str) else json.dumps(value)
        return text[:300]

    # -- the journey ----------------------------------------------------------------------------
    def health(self):
        for service in ("auth", "portfolio", "screener", "assistant"):
            status, body, _ = self.http("GET", f"/v1/{service}/health")
            deps = body.get("dependencies", {}) if isinstance(body, dict) else {}
            cache = deps.get("cache", {})
            down = {k: v.get("status") for k, v in deps.items() if v.get("status") != "up"}
            self.check(f"GET /v1/{service}/health through API Gateway: 200, status ok",
                       status == 200 and isinstance(body, dict) and body.get("status") == "ok",
                       f"{status} {self.brief(body)}" if status != 200 or down else f"deps {', '.join(deps)}")
            self.check(f"{service}: the cache is up over TLS (rediss://)", cache.get("status") == "up",
                       self.brief(cache))

    def cors_preflight(self):
        status, _, headers = self.http("OPTIONS", "/v1/portfolios", headers={
            "origin": ORIGIN, "access-control-request-method": "POST",
            "access-control-request-headers": "authorization,content-type"})
        allowed = headers.get("access-control-allow-origin") if headers else None
        self.check("CORS preflight answered by API Gateway for the template's origin",
                   status in (200, 204) and allowed in (ORIGIN, "*"), f"{status}, allow-origin {allowed}")

    def account(self):
        email = f"smoke-{uuid.uuid4().hex[:12]}@example.com"
        status, body, _ = self.http("POST", "/v1/auth/register", {"email": email, "password": PASSWORD})
        if not self.check("POST /v1/auth/register: 202", status == 202, f"{status} {self.brief(body)}"):
            return None
        status, body, _ = self.http("POST", "/v1/auth/login", {"email": email, "password": PASSWORD})
        token = body.get("access_token") if isinstance(body, dict) else None
        if not self.check("POST /v1/auth/login: 200 with an access token", status == 200 and bool(token),
                          f"{status} {self.brief(body)}" if not token else ""):
            return None
        status, body, _ = self.http("GET", "/v1/me", token=token)
        self.check("GET /v1/me with the token: 200", status == 200 and isinstance(body, dict) and body.get("email") == email,
                   f"{status} {self.brief(body)}" if status != 200 else "")
        # The ops function is deployed and routed, and refuses a token without the admin role.
        status, body, _ = self.http("GET", "/v1/admin/cache/stats", token=token)
        self.check("GET /v1/admin/cache/stats with an ordinary token: 404 (the ops function)",
                   status == 404 and isinstance(body, dict) and body.get("type") == "urn:bourse:problem:not-found",
                   f"{status} {self.brief(body)}" if status != 404 else "")
        return token

    def portfolio(self, token):
        status, body, _ = self.http("POST", "/v1/portfolios", {"name": "Smoke", "currency": "USD"}, token=token)
        portfolio_id = body.get("id") if isinstance(body, dict) else None
        if not self.check("POST /v1/portfolios: 201", status == 201 and bool(portfolio_id), f"{status} {self.brief(body)}"):
            return
        transaction = {"type": "BUY", "symbol": "MSFT", "trade_date": "2026-01-15", "quantity": "10", "price": "412.50", "fees": "1"}
        status, body, _ = self.http("POST", f"/v1/portfolios/{portfolio_id}/transactions", transaction, token=token,
                                    headers={"idempotency-key": f"smoke-{uuid.uuid4().hex}"})
        self.check("POST /v1/portfolios/{id}/transactions (BUY 10 MSFT): 201", status == 201, f"{status} {self.brief(body)}")
        status, body, _ = self.http("GET", f"/v1/portfolios/{portfolio_id}/summary", token=token)
        text = json.dumps(body)
        self.check("GET /v1/portfolios/{id}/summary: 200 with the MSFT position", status == 200 and "MSFT" in text,
                   f"{status} {self.brief(body)}")
        # The summary is cached (cache-aside, 60 s): the function wrote it over TLS.
        keys = self.cache_keys("bourse:portfolio:*")
        self.check("the summary is in the TLS cache (written by the deployed function)", keys is not None and keys > 0,
                   f"{keys} bourse:portfolio:* keys")

    def screen(self):
        query = {"filter": "pe > 0 and pe < 40 and market_cap > 10B", "sort": "market_cap", "order": "desc", "limit": 5}
        status, body, _ = self.http("POST", "/v1/screener/query", query)
        rows = None
        if isinstance(body, dict):
            rows = next((v for v in body.values() if isinstance(v, list)), None)
        self.check("POST /v1/screener/query: 200 with matches from the seeded universe", status == 200 and bool(rows),
                   f"{status} {self.brief(body)}" if status != 200 or not rows else f"{len(rows)} rows")

    def job(self, token, timeout=120):
        status, body, headers = self.http("POST", "/v1/jobs", {"symbols": ["AAPL", "MSFT"]}, token=token)
        job_id = body.get("job_id") if isinstance(body, dict) else None
        if not self.check("POST /v1/jobs (AAPL, MSFT): 202", status == 202 and bool(job_id), f"{status} {self.brief(body)}"):
            return
        deadline, state, body = time.monotonic() + timeout, None, None
        while time.monotonic() < deadline:
            status, body, _ = self.http("GET", f"/v1/jobs/{job_id}", token=token)
            state = body.get("state") if isinstance(body, dict) else None
            if status != 200 or state in ("completed", "completed-with-errors", "failed"):
                break
            time.sleep(0.5)
        self.check("the job completes through the deployed queue and event-source mapping", state == "completed",
                   f"state {state}: {self.brief(body)}")

    def scheduled_refresh(self, timeout):
        consumer = self.functions.get("EnrichConsumerFunction")
        lambdas, scheduler = self.aws("lambda"), self.aws("scheduler")
        arn = lambdas.get_function(FunctionName=consumer)["Configuration"]["FunctionArn"]
        schedules = []
        for summary in scheduler.list_schedules()["Schedules"]:
            detail = scheduler.get_schedule(Name=summary["Name"], GroupName=summary.get("GroupName", "default"))
            if detail["Target"]["Arn"] == arn:
                schedules.append(detail)
        inputs = sorted(s["Target"].get("Input") or "" for s in schedules)
        self.check("the daily refresh and the job sweep target enrich-consumer with their Inputs",
                   inputs == ['{"kind":"scheduled-refresh"}', '{"kind":"sweep-jobs"}'],
                   f"{[(s['ScheduleExpression'], s['Target'].get('Input')) for s in schedules]}")
        payload = next((i for i in inputs if "scheduled-refresh" in i), None)
        payload = payload or '{"kind":"scheduled-refresh"}'
        answer = lambdas.invoke(FunctionName=consumer, Payload=payload.encode())
        result = answer["Payload"].read().decode("utf-8", "replace")
        if not self.check("Invoke enrich-consumer with the schedule's Input: no error, {\"status\":\"done\"}",
                          "FunctionError" not in answer and '"done"' in result, result[:300]):
            return
        # The refresh is a job over the seeded universe, fanned out through the queue.
        job_key = {"pk": {"S": f"JOB#refresh-{time.strftime('%Y-%m-%d', time.gmtime())}"}, "sk": {"S": "JOB"}}
        dynamodb, app_table = self.aws("dynamodb"), self.state["outputs"]["AppTableName"]
        deadline, item = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            item = dynamodb.get_item(TableName=app_table, Key=job_key, ConsistentRead=True).get("Item") or {}
            total, done, failed = (int(item.get(k, {}).get("N", "0")) for k in ("total", "done", "failed"))
            if total and done + failed >= total:
                break
            if not item and time.monotonic() > deadline - timeout + 15:
                break  # the refresh recorded no job at all
            time.sleep(1)
        total, done, failed = (int(item.get(k, {}).get("N", "0")) for k in ("total", "done", "failed"))
        self.check("the scheduled refresh's job is processed through the queue", total > 0 and done + failed >= total and failed == 0,
                   f"{done} done, {failed} failed of {total} symbols")

    def assistant(self, token):
        """A thread, an answer from Bourse's provider (the emulator's Bedrock) metered under the
        template's grants, a provider key sealed under the template's KMS key, and the same answer
        streamed through the function URL."""
        status, body, _ = self.http("POST", "/v1/assistant/threads", {"title": "Smoke"}, token=token)
        thread = body.get("id") if isinstance(body, dict) else None
        if not self.check("POST /v1/assistant/threads: 201", status == 201 and bool(thread), f"{status} {self.brief(body)}"):
            return
        question = {"content": "How are my portfolios doing?"}
        status, body, _ = self.http("POST", f"/v1/assistant/threads/{thread}/messages", question, token=token)
        mode = body.get("mode") if isinstance(body, dict) else None
        self.check("POST /v1/assistant/threads/{id}/messages: 200, answered by Bedrock (InvokeModel granted, the call metered)",
                   status == 200 and mode == "model", f"{status} mode {mode}: {self.brief(body)}")
        key = {"endpoint": "openai", "label": "smoke", "api_key": f"sk-smoke-{uuid.uuid4().hex}"}
        status, body, _ = self.http("POST", "/v1/assistant/keys", key, token=token)
        key_id = body.get("id") if isinstance(body, dict) else None
        shown = json.dumps(body) if body is not None else ""
        self.check("POST /v1/assistant/keys: 201, sealed under AssistantKey (GenerateDataKey granted), never shown",
                   status == 201 and bool(key_id) and key["api_key"] not in shown, f"{status} {self.brief(body)}")
        if key_id:
            status, body, _ = self.http("DELETE", f"/v1/assistant/keys/{key_id}", token=token)
            self.check("DELETE /v1/assistant/keys/{id}: 204", status == 204, f"{status} {self.brief(body)}")
        url = self.state["outputs"].get("AssistantStreamUrl", "")
        url_id = url.split("://", 1)[-1].split(".", 1)[0]
        if not self.check("the stack outputs the assistant's function URL", bool(url_id), url):
            return
        host = f"{url_id}.lambda-url.{self.state['region']}.localhost:{self.port}"
        status, body, headers = self.http("POST", f"/v1/assistant/threads/{thread}/messages/stream", question, token=token,
                                          host=host)
        text = body if isinstance(body, str) else json.dumps(body)
        content_type = (headers.get("content-type") if headers else "") or ""
        self.check("POST …/messages/stream through the function URL: 200 text/event-stream, deltas then done",
                   status == 200 and content_type.startswith("text/event-stream") and "event: delta" in text and "event: done" in text,
                   f"{status} {content_type}: {self.brief(text)}")
        status, body, _ = self.http("GET", "/v1/assistant/threads", host=host)
        self.check("the function URL refuses a request without a token: 401", status == 401, f"{status} {self.brief(body)}")

    def cache_keys(self, pattern: str):
        command = ["redis-cli", "--tls", "--cacert", self.args.cache_ca, "-h", self.args.cache_host,
                   "-p", str(self.args.cache_port), "--scan", "--pattern", pattern]
        try:
            out = subprocess.run(command, capture_output=True, text=True, timeout=10, check=True).stdout
        except (subprocess.SubprocessError, OSError):
            return None
        return len([line for line in out.splitlines() if line.strip()])

    # -- what the deployed functions got -------------------------------------------------------
    def function_processes(self) -> dict:
        """pid -> environment of every function process ministack runs (its code cache)."""
        code_root = str(self.run_dir / "tmp")
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                exe = os.readlink(entry / "exe")
                if not (exe.startswith(code_root) and exe.endswith("/bootstrap")):
                    continue
                raw = (entry / "environ").read_bytes()
            except OSError:
                continue
            found[int(entry.name)] = dict(kv.split("=", 1) for kv in raw.decode("utf-8", "replace").split("\0") if "=" in kv)
        return found

    def environment(self):
        processes = self.function_processes()
        names = sorted({env.get("AWS_LAMBDA_FUNCTION_NAME", "?") for env in processes.values()})
        self.check("function processes found", len(names) == len(self.functions), f"{len(processes)} processes of {', '.join(names)}")
        problems = []
        for pid, env in processes.items():
            fn = env.get("AWS_LAMBDA_FUNCTION_NAME", str(pid))
            endpoints = {k: v for k, v in env.items() if k.startswith("AWS_ENDPOINT_URL")}
            if endpoints.get("AWS_ENDPOINT_URL") != self.endpoint:
                problems.append(f"{fn}: AWS_ENDPOINT_URL={endpoints.get('AWS_ENDPOINT_URL')}")
            problems += [f"{fn}: {k}={v}" for k, v in endpoints.items() if not v.startswith(("http://127.0.0.1:", "http://localhost:"))]
            if env.get("BOURSE_STAGE") not in ("dev", "staging", "prod"):
                problems.append(f"{fn}: BOURSE_STAGE={env.get('BOURSE_STAGE')} (not the template's)")
            if not env.get("CACHE_URL", "").startswith("rediss://"):
                problems.append(f"{fn}: CACHE_URL={env.get('CACHE_URL')}")
        if not processes:
            problems.append("no function process to inspect")
        problems = sorted(set(problems))
        self.check("every function process: AWS endpoint = ministack on 127.0.0.1, template stage, rediss:// cache",
                   not problems, "; ".join(problems) or f"AWS_ENDPOINT_URL={self.endpoint}")
        peers = []
        try:
            out = subprocess.run(["ss", "-Htnp"], capture_output=True, text=True, timeout=10).stdout
        except OSError:
            out = ""
        for line in out.splitlines():
            pids = {int(p) for p in re.findall(r"pid=(\d+)", line)}
            if pids & set(processes):
                peer = line.split()[4]
                if not peer.startswith(("127.0.0.1:", "[::1]:", "[::ffff:127.0.0.1]:")):
                    peers.append(peer)
        self.check("function processes have connections to loopback only", not peers, ", ".join(peers))

    def secrets_not_in_configuration(self):
        secret = self.state["parameters"]["JwtSigningKeySecret"]
        private = json.loads(self.aws("secretsmanager").get_secret_value(SecretId=secret)["SecretString"])["privateKey"]
        lambdas, leaked = self.aws("lambda"), []
        for name in self.functions.values():
            variables = (lambdas.get_function_configuration(FunctionName=name).get("Environment") or {}).get("Variables") or {}
            leaked += [f"{name}:{k}" for k, v in variables.items() if private in v or "PRIVATE KEY" in v]
        self.check("no signing key in clear in GetFunctionConfiguration (read from Secrets Manager at init)", not leaked,
                   f"private key in {', '.join(leaked)}" if leaked else "")

    def log_lines(self, name: str) -> list[str]:
        """Every line of a function's log group, oldest first."""
        logs, events, token = self.aws("logs"), [], None
        while True:
            kwargs = {"logGroupName": f"/aws/lambda/{name}", "limit": 10000}
            if token:
                kwargs["nextToken"] = token
            page = logs.filter_log_events(**kwargs)
            events += page.get("events", [])
            token = page.get("nextToken")
            if not token or not page.get("events"):
                break
        events.sort(key=lambda e: e["timestamp"])
        return [e["message"].rstrip() for e in events]

    def logs_clean(self):
        errors, warnings, total = [], 0, 0
        for name in sorted(self.functions.values()):
            try:
                lines = self.log_lines(name)
            except Exception as error:  # noqa: BLE001 - reported as the check's failure
                errors.append(f"{name}: cannot read the log group: {error}")
                continue
            total += len(lines)
            errors += [f"{name}: {line[:300]}" for line in lines if '"level":"ERROR"' in line]
            warnings += sum('"level":"WARN"' in line for line in lines)
        self.check("no ERROR line in the functions' logs", not errors and total > 0,
                   "\n    ".join([""] + errors[:10]) if errors else f"{total} lines read, {warnings} WARN")

    def print_logs(self, lines=25):
        logs = self.aws("logs")
        for logical, name in sorted(self.functions.items()):
            group = f"/aws/lambda/{name}"
            try:
                streams = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True, limit=5)["logStreams"]
                events = []
                for stream in streams:
                    events += logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"], limit=200)["events"]
            except Exception as error:  # noqa: BLE001 - diagnostics only
                print(f"--- {group}: {error}")
                continue
            events.sort(key=lambda e: e["timestamp"])
            print(f"--- {group}: last {min(lines, len(events))} of {len(events)} lines")
            for event in events[-lines:]:
                print("    " + event["message"].rstrip()[:400])

    def run(self, refresh_timeout):
        self.health()
        self.cors_preflight()
        token = self.account()
        self.screen()
        if token:
            self.portfolio(token)
            self.job(token)
            self.assistant(token)
        self.scheduled_refresh(refresh_timeout)
        self.environment()
        self.secrets_not_in_configuration()
        self.logs_clean()
        print(f"smoke: {self.passed} passed, {len(self.failed)} failed in {time.monotonic() - self.started:.1f} s", flush=True)
        if self.failed:
            self.print_logs()
        return 1 if self.failed else 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--state", required=True)
    parser.add_argument("--run-dir", required=True)
    parser.add_argument("--cache-ca", required=True)
    parser.add_argument("--cache-host", required=True)
    parser.add_argument("--cache-port", required=True, type=int)
    parser.add_argument("--refresh-timeout", type=float, default=180, help="seconds for the scheduled refresh's job")
    return Smoke(parser.parse_args()).run(parser.parse_args().refresh_timeout)


if __name__ == "__main__":
    sys.exit(main())
