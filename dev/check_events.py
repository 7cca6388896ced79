#!/usr/bin/env python3
"""Invokes every sample event in events/ with `cargo lambda invoke --data-file` against a running
`cargo lambda watch`, and checks each response against events/expected.json.

Every event file must have an expectation, so none is silently left out. Prints one line per
event and a closing 'N passed, N failed' line; exits non-zero on any failure.
"""
import base64
import gzip
import json
import pathlib
import subprocess
import sys

repo = pathlib.Path(__file__).resolve().parent.parent
port = sys.argv[1]
expected = json.loads((repo / "events" / "expected.json").read_text())
files = sorted(str(p.relative_to(repo / "events")) for p in (repo / "events").rglob("*.json") if p.name != "expected.json")
passed = failed = 0


def body_text(response):
    body = response.get("body") or ""
    if not response.get("isBase64Encoded"):
        return body
    raw = base64.b64decode(body)
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    if headers.get("content-encoding") == "gzip":
        raw = gzip.decompress(raw)
    return raw.decode()


def check(name):
    want = expected.get(name)
    if want is None:
        return "no expectation in events/expected.json"
    run = subprocess.run(
        ["cargo", "lambda", "invoke", want["function"], "--invoke-address", "127.0.0.1", "--invoke-port", port,
         "--data-file", str(repo / "events" / name), "--output-format", "json"],
        capture_output=True, text=True, timeout=300, cwd=repo)
    if run.returncode != 0:
        return f"invoke failed: {run.stderr.strip()[-400:]}"
    try:
        response = json.loads(run.stdout)
    except json.JSONDecodeError:
        return f"response is not JSON: {run.stdout[:200]}"
    if "json" in want:
        return None if response == want["json"] else f"got {response}, want {want['json']}"
    if response.get("statusCode") != want["statusCode"]:
        return f"status {response.get('statusCode')}, want {want['statusCode']}: {body_text(response)[:300]}"
    text = body_text(response)
    if want.get("bodyContains") and want["bodyContains"] not in text:
        return f"body lacks {want['bodyContains']!r}: {text[:300]}"
    return None


for name in files:
    problem = check(name)
    if problem:
        failed += 1
        print(f"FAIL events/{name}: {problem}")
    else:
        passed += 1
        print(f"ok   events/{name}")
for name in sorted(set(expected) - set(files)):
    failed += 1
    print(f"FAIL events/expected.json names {name}, which does not exist")
print(f"events: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
