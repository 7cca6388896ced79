#!/usr/bin/env python3
"""Invokes every sample event in events/ with `cargo lambda invoke --data-file` against a running
`cargo lambda watch`, and checks each response against events/expected.json.

Every event file must have an expectation, so none is silently left out. An expectation may also
name DynamoDB items to `put` before the invocation (in the test profile's tables, so the event
takes the path it is named for) and items that must hold given attributes `after` it. Prints one
line per event and a closing 'N passed, N failed' line; exits non-zero on any failure.
"""
import base64
import gzip
import json
import pathlib
import os
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


def dynamodb():
    import boto3  # in the tools venv (a dependency of the SAM CLI)
    return boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL_DYNAMODB"], region_name=os.environ.get("AWS_REGION", "us-east-1"))


def table_name(alias):
    return {"app": os.environ["APP_TABLE"], "market": os.environ["MARKET_TABLE"]}[alias]


def prepare(want):
    for put in want.get("put", []):
        dynamodb().put_item(TableName=table_name(put["table"]), Item=put["item"])
    for key in want.get("delete", []):
        dynamodb().delete_item(TableName=table_name(key["table"]), Key=key["key"])


def verify(want):
    for after in want.get("after", []):
        item = dynamodb().get_item(TableName=table_name(after["table"]), Key=after["key"], ConsistentRead=True).get("Item")
        if after.get("absent"):
            if item is not None:
                return f"after: {after['key']} still exists"
            continue
        item = item or {}
        for name, value in after["has"].items():
            if item.get(name) != value:
                return f"after: {after['key']} has {name} = {item.get(name)}, want {value}"
    return None


def check(name):
    want = expected.get(name)
    if want is None:
        return "no expectation in events/expected.json"
    prepare(want)
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
        return verify(want) if response == want["json"] else f"got {response}, want {want['json']}"
    if response.get("statusCode") != want["statusCode"]:
        return f"status {response.get('statusCode')}, want {want['statusCode']}: {body_text(response)[:300]}"
    text = body_text(response)
    contains = want.get("bodyContains") or []
    for needle in [contains] if isinstance(contains, str) else contains:
        if needle not in text:
            return f"body lacks {needle!r}: {text[:300]}"
    return verify(want)


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
