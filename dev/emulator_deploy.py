"""Deploys template.yaml into a running ministack, the way `sam deploy` deploys it into AWS.

    emulator_deploy.py --endpoint URL --stack NAME --template template.yaml --lambda-dir target/lambda \
        --keys-output FILE --out stack.json

--keys-output is what `dev/keys.sh new` printed when it created the signing key's secret (in
ministack's Secrets Manager): its "deploy with" line gives the stack parameters, as it gives them
to an operator. The one other required parameter, DynamoDbPrefixListId, is looked up the way the
README tells an operator to: EC2 DescribePrefixLists, by the name com.amazonaws.<region>.dynamodb.

Steps (each printed with its time):
  1. packaging, i.e. what `sam build` + `sam package` do: each AWS::Serverless::Function's bootstrap
     (target/lambda/<Metadata.BuildProperties.Binary>/bootstrap) is zipped and uploaded to S3, and the
     function's CodeUri `.` becomes that S3 object. This is the only difference between template.yaml
     and the template CloudFormation receives, and it is the difference `sam deploy` makes too;
  2. CreateStack through ministack's CloudFormation, which applies the SAM transform; waits for
     CREATE_COMPLETE and prints the failed events otherwise;
  3. the HTTP API's routes: ministack ignores the OpenAPI `Body` the SAM transform gives the
     AWS::ApiGatewayV2::Api (where the HttpApi events and the CORS configuration end up), so the
     routes, their Lambda proxy integrations (payload 2.0) and the CORS configuration are imported
     from the *processed* template (GetTemplate, TemplateStage=Processed) through the apigatewayv2 API,
     as API Gateway does when it imports a body. Routes that already exist are left alone;
  4. writes what the smoke journey needs (API id, function names, tables, queues, cache endpoint).

Python standard library + boto3 (the tools venv). Talks to --endpoint only.
"""

import argparse
import io
import json
import re
import shlex
import sys
import time
import zipfile
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from samtranslator.yaml_helper import yaml_parse

ARTIFACT_BUCKET = "bourse-emulator-artifacts"


def log(message: str) -> None:
    print(f"deploy: {message}", flush=True)


class Timer:
    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            log(f"{self.name}: {time.monotonic() - self.started:.1f} s")


def clients(endpoint: str, region: str):
    config = BotoConfig(retries={"max_attempts": 2, "mode": "standard"}, read_timeout=300, connect_timeout=5)

    def make(service):
        return boto3.client(service, endpoint_url=endpoint, region_name=region, config=config,
                            aws_access_key_id="test", aws_secret_access_key="test")

    return make


def keys_parameters(path: Path) -> dict:
    """The stack parameters of dev/keys.sh's "deploy with" line: Name=value words, shell-quoted."""
    for line in path.read_text().splitlines():
        if "JwtSigningKeySecret=" in line:
            return dict(word.split("=", 1) for word in shlex.split(line.strip()))
    raise SystemExit(f"{path} has no parameter line (JwtSigningKeySecret=...): did dev/keys.sh fail?")


def dynamodb_prefix_list(ec2, region: str) -> str:
    """The id of DynamoDB's AWS-managed prefix list in the region (DescribePrefixLists by name)."""
    name = f"com.amazonaws.{region}.dynamodb"
    found = ec2.describe_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [name]}])["PrefixLists"]
    if len(found) != 1:
        raise SystemExit(f"DescribePrefixLists found {len(found)} prefix lists named {name}, expected one")
    return found[0]["PrefixListId"]


def package(s3, template: dict, lambda_dir: Path) -> dict:
    """Zips and uploads each function's bootstrap; returns {logical id: s3 uri} and rewrites CodeUri."""
    s3.create_bucket(Bucket=ARTIFACT_BUCKET)
    packaged = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = ((resource.get("Metadata") or {}).get("BuildProperties") or {}).get("Binary")
        if not binary:
            raise SystemExit(f"{logical_id} has no Metadata.BuildProperties.Binary: cannot tell which bootstrap it runs")
        bootstrap = lambda_dir / binary / "bootstrap"
        if not bootstrap.is_file():
            raise SystemExit(f"{bootstrap} is missing: build it with cargo lambda build --release --bin {binary}")
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o100755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, bootstrap.read_bytes())
        key = f"{logical_id}-{binary}.zip"
        s3.put_object(Bucket=ARTIFACT_BUCKET, Key=key, Body=buffer.getvalue())
        resource.setdefault("Properties", {})["CodeUri"] = f"s3://{ARTIFACT_BUCKET}/{key}"
        packaged[logical_id] = f"s3://{ARTIFACT_BUCKET}/{key} ({len(buffer.getvalue()) / 1e6:.1f} MB zip of {binary})"
    return packaged


def create_stack(cfn, s3, stack: str, template: dict, parameters: dict, run_dir: Path) -> None:
    body = json.dumps(template, indent=1)
    (run_dir / "packaged-template.json").write_text(body)
    s3.put_object(Bucket=ARTIFACT_BUCKET, Key="packaged-template.json", Body=body.encode())
    declared = template.get("Parameters") or {}
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise SystemExit(f"template.yaml declares no parameter {', '.join(unknown)}")
    cfn.create_stack(
        StackName=stack,
        TemplateURL=f"{cfn.meta.endpoint_url}/{ARTIFACT_BUCKET}/packaged-template.json",
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    deadline = time.monotonic() + 600
    while True:
        status = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        state = status["StackStatus"]
        if state == "CREATE_COMPLETE":
            return
        if not state.endswith("IN_PROGRESS") or time.monotonic() > deadline:
            events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
            for event in reversed(events):
                if "FAILED" in event.get("ResourceStatus", ""):
                    log(f"  {event['LogicalResourceId']} ({event['ResourceType']}): {event.get('ResourceStatusReason', '')}")
            raise SystemExit(f"stack {stack} ended {state}: {status.get('StackStatusReason', '')}")
        time.sleep(0.5)


def resolve_sub(value, region: str, function_arns: dict) -> str:
    """Resolves the Fn::Sub of an integration URI (pseudo parameters and ${Function.Arn})."""
    if isinstance(value, str):
        return value
    if not (isinstance(value, dict) and isinstance(value.get("Fn::Sub"), str)):
        raise SystemExit(f"integration uri of an unexpected shape: {value!r}")

    def one(match):
        name = match.group(1)
        pseudo = {"AWS::Partition": "aws", "AWS::Region": region, "AWS::URLSuffix": "amazonaws.com"}
        if name in pseudo:
            return pseudo[name]
        logical, _, attribute = name.partition(".")
        if attribute == "Arn" and logical in function_arns:
            return function_arns[logical]
        raise SystemExit(f"cannot resolve ${{{name}}} in an integration uri")

    return re.sub(r"\$\{([^}]+)\}", one, value["Fn::Sub"])


def import_http_api_bodies(cfn, apigw, lambdas, stack: str, region: str) -> dict:
    processed = cfn.get_template(StackName=stack, TemplateStage="Processed")["TemplateBody"]
    if isinstance(processed, str):
        processed = json.loads(processed)
    resources = {r["LogicalResourceId"]: r for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]}
    function_arns = {
        logical: lambdas.get_function(FunctionName=r["PhysicalResourceId"])["Configuration"]["FunctionArn"]
        for logical, r in resources.items() if r["ResourceType"] == "AWS::Lambda::Function"
    }
    summary = {}
    for logical, resource in processed["Resources"].items():
        body = (resource.get("Properties") or {}).get("Body") if resource.get("Type") == "AWS::ApiGatewayV2::Api" else None
        if not body:
            continue
        api_id = resources[logical]["PhysicalResourceId"]
        existing_routes = {r["RouteKey"] for r in apigw.get_routes(ApiId=api_id)["Items"]}
        integrations = {i["IntegrationUri"]: i["IntegrationId"] for i in apigw.get_integrations(ApiId=api_id)["Items"]}
        created = 0
        for path, operations in (body.get("paths") or {}).items():
            for operation, spec in operations.items():
                integration = (spec or {}).get("x-amazon-apigateway-integration")
                if not integration:
                    continue
                method = "ANY" if operation == "x-amazon-apigateway-any-method" else operation.upper()
                route_key = f"{method} {path}"
                if route_key in existing_routes:
                    continue
                if integration.get("type", "").lower() != "aws_proxy":
                    raise SystemExit(f"{route_key}: integration type {integration.get('type')} is not handled")
                uri = resolve_sub(integration["uri"], region, function_arns)
                if uri not in integrations:
                    integrations[uri] = apigw.create_integration(
                        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=uri, IntegrationMethod="POST",
                        PayloadFormatVersion=integration.get("payloadFormatVersion", "2.0"),
                    )["IntegrationId"]
                apigw.create_route(ApiId=api_id, RouteKey=route_key, Target=f"integrations/{integrations[uri]}")
                created += 1
        cors = body.get("x-amazon-apigateway-cors")
        if cors and not apigw.get_api(ApiId=api_id).get("CorsConfiguration"):
            def as_list(value):
                return value.split(",") if isinstance(value, str) else list(value or [])

            apigw.update_api(ApiId=api_id, CorsConfiguration={
                "AllowOrigins": as_list(cors.get("allowOrigins")),
                "AllowMethods": as_list(cors.get("allowMethods")),
                "AllowHeaders": as_list(cors.get("allowHeaders")),
                "ExposeHeaders": as_list(cors.get("exposeHeaders")),
                "MaxAge": int(cors.get("maxAge", 0)),
                "AllowCredentials": bool(cors.get("allowCredentials", False)),
            })
        total = len(apigw.get_routes(ApiId=api_id)["Items"])
        summary[logical] = {"apiId": api_id, "routesCreated": created, "routes": total, "cors": bool(cors)}
        log(f"HTTP API {logical} ({api_id}): {created} routes created from the processed template's body, {total} in all; CORS {'imported' if cors else 'none'}")
    return summary


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--template", required=True, type=Path)
    parser.add_argument("--lambda-dir", required=True, type=Path)
    parser.add_argument("--keys-output", required=True, type=Path, help="what dev/keys.sh new printed")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()

    make = clients(args.endpoint, args.region)
    cfn, s3, apigw, lambdas = (make(s) for s in ("cloudformation", "s3", "apigatewayv2", "lambda"))
    template = yaml_parse(args.template.read_text())
    run_dir = args.out.parent

    parameters = keys_parameters(args.keys_output)
    parameters["DynamoDbPrefixListId"] = dynamodb_prefix_list(make("ec2"), args.region)
    log("parameters (dev/keys.sh's, and the DynamoDB prefix list): " + ", ".join(f"{k}={v}" for k, v in parameters.items()))
    with Timer("package (zip + upload the bootstraps)"):
        for logical, where in package(s3, template, args.lambda_dir).items():
            log(f"  {logical}: CodeUri . -> {where}")
    with Timer(f"CreateStack {args.stack} (SAM transform + provisioning)"):
        create_stack(cfn, s3, args.stack, template, parameters, run_dir)
    with Timer("HTTP API routes"):
        apis = import_http_api_bodies(cfn, apigw, lambdas, args.stack, args.region)

    resources = cfn.describe_stack_resources(StackName=args.stack)["StackResources"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=args.stack)["Stacks"][0].get("Outputs", [])}
    by_type = {}
    for r in resources:
        by_type.setdefault(r["ResourceType"], {})[r["LogicalResourceId"]] = r["PhysicalResourceId"]
    functions = by_type.get("AWS::Lambda::Function", {})
    state = {
        "stack": args.stack,
        "endpoint": args.endpoint,
        "region": args.region,
        "outputs": outputs,
        "apis": apis,
        "functions": functions,
        "tables": by_type.get("AWS::DynamoDB::Table", {}),
        "queues": by_type.get("AWS::SQS::Queue", {}),
        "schedules": by_type.get("AWS::Scheduler::Schedule", {}),
        "eventSourceMappings": by_type.get("AWS::Lambda::EventSourceMapping", {}),
        "parameters": parameters,
        "resourceCount": len(resources),
    }
    args.out.write_text(json.dumps(state, indent=1))
    log(f"stack {args.stack}: {len(resources)} resources; functions {', '.join(sorted(functions.values()))}")
    for key in ("AppTableName", "MarketTableName", "EnrichQueueUrl", "CacheEndpoint", "AssistantStreamUrl", "AssistantKmsKeyId"):
        if key in outputs:
            log(f"  {key} = {outputs[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
