"""Starts ministack (foreground, in this process) after registering CloudFormation resource
providers for the four resource types `template.yaml` uses that ministack 1.5.33 does not provision:

    AWS::EC2::EIP, AWS::EC2::NatGateway, AWS::EC2::SecurityGroupEgress, AWS::EC2::SecurityGroupIngress

Without them ministack refuses the whole template ("Unrecognized resource types"), before creating
anything. Each provider does what CloudFormation's own does, through ministack's EC2 emulation (the
same action handlers its EC2 API serves: AllocateAddress/ReleaseAddress, CreateNatGateway/
DeleteNatGateway, Authorize/RevokeSecurityGroupEgress/Ingress), so the stack holds every resource of
the template, `Ref`/`Fn::GetAtt` return what AWS documents, and `ec2 describe-*` shows them. A type
ministack learns to provision itself is left alone (registration is skipped), so an upgrade that
closes the gap needs no change here.

It also corrects one rule of ministack's IAM evaluation (AUTH=true) to AWS's: SQS authorizes the
batch actions SendMessageBatch, DeleteMessageBatch and ChangeMessageVisibilityBatch with the
permission of the single action (sqs:SendMessage, sqs:DeleteMessage, sqs:ChangeMessageVisibility;
"You cannot set permissions explicitly for SendMessageBatch ...", Amazon SQS developer guide, batch
actions), while ministack 1.5.33 evaluates them as actions of their own, so a role allowed
sqs:SendMessage is refused SendMessageBatch.

It also gives DynamoDB requests the condition key dynamodb:LeadingKeys, which ministack 1.5.33 does
not set: a policy's ForAllValues condition on it then held for every request (an absent key is an
empty set), so the template's per-function partition-key prefixes were not enforced. AWS sets it to
the partition-key values of the items a request names: the Key or Item of GetItem, PutItem,
UpdateItem and DeleteItem, the partition-key value of a Query's key condition, the keys of the
table's entries in BatchGetItem and BatchWriteItem, and, for each item of TransactWriteItems or
TransactGetItems (authorised as its single-item action), that item's key.

It also gives KMS requests the condition keys kms:EncryptionContext:<key> and
kms:EncryptionContextKeys from the request's EncryptionContext, which ministack 1.5.33 does not set
(the assistant's grant requires the context its vault always sends, so without them every
GenerateDataKey and Decrypt was refused), and authorizes Bedrock Runtime's Converse and
ConverseStream as AWS does, with bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream on the
foundation model's ARN (ministack 1.5.33 asks for actions bedrock:Converse and bedrock:ConverseStream,
which IAM does not have, on an ARN that keeps the model id's percent-encoding: %3A for its colon).

Used by dev/deploy-emulator.sh only; configured, like ministack, by environment variables.
"""

import json
import re
import sys
from urllib.parse import unquote

from ministack.core import iam_actions, iam_evaluator
from ministack.services import ec2
from ministack.services.cloudformation import provisioners


def _call(action, params: dict) -> str:
    """Runs an EC2 query-API action handler with `params` and returns its XML answer."""
    status, _headers, body = action({k: [str(v)] for k, v in params.items() if v is not None})
    text = body.decode("utf-8") if isinstance(body, bytes) else str(body)
    if status >= 400:
        raise ValueError(f"{action.__name__.lstrip('_')} failed: {text}")
    return text


def _field(xml: str, name: str) -> str:
    match = re.search(rf"<{name}>([^<]*)</{name}>", xml)
    if not match:
        raise ValueError(f"no <{name}> in the EC2 answer: {xml[:200]}")
    return match.group(1)


def _tag_specs(resource_type: str, props: dict) -> dict:
    params = {}
    for j, tag in enumerate(props.get("Tags") or [], start=1):
        params["TagSpecification.1.ResourceType"] = resource_type
        params[f"TagSpecification.1.Tag.{j}.Key"] = tag.get("Key")
        params[f"TagSpecification.1.Tag.{j}.Value"] = tag.get("Value", "")
    return params


# AWS::EC2::EIP: Ref is the public IP; GetAtt AllocationId and PublicIp.
def _eip_create(logical_id, props, stack_name):
    xml = _call(ec2._allocate_address, {"Domain": props.get("Domain", "vpc"), **_tag_specs("elastic-ip", props)})
    public_ip, allocation_id = _field(xml, "publicIp"), _field(xml, "allocationId")
    return public_ip, {"AllocationId": allocation_id, "PublicIp": public_ip}


def _eip_delete(physical_id, props):
    for allocation_id, record in list(ec2._addresses.items()):
        if record.get("PublicIp") == physical_id:
            _call(ec2._release_address, {"AllocationId": allocation_id})


# AWS::EC2::NatGateway: Ref is the gateway id.
def _nat_create(logical_id, props, stack_name):
    xml = _call(ec2._create_nat_gateway, {
        "SubnetId": props.get("SubnetId"),
        "AllocationId": props.get("AllocationId"),
        "ConnectivityType": props.get("ConnectivityType", "public"),
        **_tag_specs("natgateway", props),
    })
    nat_id = _field(xml, "natGatewayId")
    return nat_id, {"NatGatewayId": nat_id}


def _nat_delete(physical_id, props):
    if physical_id in ec2._nat_gateways:
        _call(ec2._delete_nat_gateway, {"NatGatewayId": physical_id})


# AWS::EC2::SecurityGroupEgress / SecurityGroupIngress: Ref is the security group rule id.
def _rule_params(props: dict, peer_key: str) -> dict:
    params = {
        "GroupId": props.get("GroupId"),
        "IpPermissions.1.IpProtocol": props.get("IpProtocol"),
        "IpPermissions.1.FromPort": props.get("FromPort"),
        "IpPermissions.1.ToPort": props.get("ToPort"),
    }
    description = props.get("Description")
    if props.get("CidrIp"):
        params["IpPermissions.1.IpRanges.1.CidrIp"] = props["CidrIp"]
        params["IpPermissions.1.IpRanges.1.Description"] = description
    if props.get("CidrIpv6"):
        params["IpPermissions.1.Ipv6Ranges.1.CidrIpv6"] = props["CidrIpv6"]
        params["IpPermissions.1.Ipv6Ranges.1.Description"] = description
    if props.get(peer_key):
        params["IpPermissions.1.Groups.1.GroupId"] = props[peer_key]
        params["IpPermissions.1.Groups.1.Description"] = description
    return params


def _rule_provider(action, revoke, peer_key):
    def create(logical_id, props, stack_name):
        if not props.get("GroupId"):
            raise ValueError(f"{logical_id}: GroupId is required (a VPC security group)")
        rule_id = _field(_call(action, _rule_params(props, peer_key)), "securityGroupRuleId")
        return rule_id, {"Id": rule_id}

    def delete(physical_id, props):
        if props.get("GroupId") in ec2._security_groups:
            _call(revoke, {"GroupId": props["GroupId"], "SecurityGroupRuleId.1": physical_id})

    return {"create": create, "delete": delete}


PROVIDERS = {
    "AWS::EC2::EIP": {"create": _eip_create, "delete": _eip_delete},
    "AWS::EC2::NatGateway": {"create": _nat_create, "delete": _nat_delete},
    "AWS::EC2::SecurityGroupEgress": _rule_provider(ec2._authorize_sg_egress, ec2._revoke_sg_egress, "DestinationSecurityGroupId"),
    "AWS::EC2::SecurityGroupIngress": _rule_provider(ec2._authorize_sg_ingress, ec2._revoke_sg_ingress, "SourceSecurityGroupId"),
}


# The IAM action AWS evaluates for each SQS batch API action.
SQS_BATCH_PERMISSIONS = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
}


def patch_sqs_batch_permissions() -> None:
    # ministack imports extract_iam_action from the module at each request, so replacing the
    # module's attribute is enough.
    original = iam_actions.extract_iam_action

    def extract_iam_action(*args, **kwargs):
        action = original(*args, **kwargs)
        return SQS_BATCH_PERMISSIONS.get(action, action)

    iam_actions.extract_iam_action = extract_iam_action


# -- dynamodb:LeadingKeys ---------------------------------------------------------------------

_BODY = "bourse:request-body"  # carries the request body from the service context to enforce()


class _KeyedArn(str):
    """A transaction item's table ARN, with the partition-key value of that item."""

    leading_keys: list


def _scalar(value):
    """The string an AttributeValue holds (S, N or B), else None."""
    if isinstance(value, dict):
        for kind in ("S", "N", "B"):
            if isinstance(value.get(kind), str):
                return value[kind]
    return None


def _table_of(arn: str) -> tuple[str, str | None]:
    """(table name, index name or None) of a DynamoDB ARN."""
    rest = arn.split(":table/", 1)[-1]
    table, _, index = rest.partition("/index/")
    return table, (index or None)


def _hash_key(table: str) -> str | None:
    from ministack.services import dynamodb

    record = dynamodb._tables.get(table) or {}
    for element in record.get("KeySchema") or []:
        if element.get("KeyType") == "HASH":
            return element.get("AttributeName")
    return None


def _query_partition_value(data: dict, hash_key: str):
    names = data.get("ExpressionAttributeNames") or {}
    values = data.get("ExpressionAttributeValues") or {}
    expression = data.get("KeyConditionExpression")
    if isinstance(expression, str):
        for left, right in re.findall(r"([#:]?[\w.]+)\s*=\s*([#:]?[\w.]+)", expression):
            for name, value in ((left, right), (right, left)):
                if value.startswith(":") and names.get(name, name) == hash_key:
                    return _scalar(values.get(value))
    condition = (data.get("KeyConditions") or {}).get(hash_key) or {}
    if condition.get("ComparisonOperator") == "EQ":
        return _scalar((condition.get("AttributeValueList") or [None])[0])
    return None


def _leading_keys(iam_action: str, body: bytes, resource_arn: str):
    """The partition-key values a (non-transaction) request names on the table of resource_arn;
    None where AWS sets no value (Scan, a Query on an index: the template's index statements carry
    no LeadingKeys condition)."""
    try:
        data = json.loads(body or b"{}")
    except (ValueError, TypeError):
        return None
    table, index = _table_of(resource_arn)
    hash_key = _hash_key(table)
    if not isinstance(data, dict) or index or not hash_key:
        return None
    action = iam_action.split(":", 1)[-1]
    if action == "Query":
        value = _query_partition_value(data, hash_key)
        return [value] if value is not None else None
    if action in ("GetItem", "DeleteItem", "UpdateItem"):
        items = [data.get("Key")]
    elif action == "PutItem":
        items = [data.get("Item")]
    elif action in ("BatchGetItem", "BatchWriteItem"):
        entries = (data.get("RequestItems") or {}).get(table)
        if entries is None:  # the table may be named by its ARN
            entries = next((v for k, v in (data.get("RequestItems") or {}).items() if k.endswith(f":table/{table}")), None)
        if action == "BatchGetItem":
            items = (entries or {}).get("Keys") or []
        else:
            items = [(e.get("PutRequest") or {}).get("Item") or (e.get("DeleteRequest") or {}).get("Key") for e in entries or []]
    else:
        return None
    keys = [_scalar((item or {}).get(hash_key)) for item in items]
    return [k for k in keys if k is not None]


def patch_dynamodb_leading_keys() -> None:
    # ministack imports these three from their modules at each request, so replacing the modules'
    # attributes is enough.
    original_context = iam_actions.dynamodb_service_context
    original_enforce = iam_evaluator.enforce

    def dynamodb_service_context(body):
        context = original_context(body)
        context[_BODY] = body
        return context

    def dynamodb_transaction_checks(iam_action, body, region, account_id):
        if iam_action not in ("dynamodb:TransactWriteItems", "dynamodb:TransactGetItems"):
            return []
        try:
            data = json.loads(body or b"{}")
        except (ValueError, TypeError):
            return []
        checks = []
        for item in (data.get("TransactItems") if isinstance(data, dict) else None) or []:
            if not isinstance(item, dict):
                continue
            # ministack's own order and members: one check per member an item names.
            for member, action in iam_actions._DYNAMODB_TRANSACT_ITEM_ACTIONS.items():
                detail = item.get(member)
                table = detail.get("TableName") if isinstance(detail, dict) else None
                if isinstance(table, str) and table:
                    arn = _KeyedArn(iam_actions._dynamodb_table_arn(table, region, account_id))
                    hash_key = _hash_key(_table_of(arn)[0])
                    value = _scalar((detail.get("Item" if member == "Put" else "Key") or {}).get(hash_key or ""))
                    arn.leading_keys = [value] if value is not None else []
                    checks.append((action, arn))
        return checks

    def enforce(access_key_id, iam_action, service, region, resource_arn="*", service_context=None):
        if service == "dynamodb" and service_context is not None:
            context = dict(service_context)
            body = context.pop(_BODY, None)
            keys = getattr(resource_arn, "leading_keys", None)
            if keys is None and body is not None:
                keys = _leading_keys(iam_action, body, resource_arn)
            if keys is not None:
                context["dynamodb:LeadingKeys"] = keys
            service_context = context
        return original_enforce(access_key_id, iam_action, service, region, resource_arn=resource_arn,
                                service_context=service_context)

    iam_actions.dynamodb_service_context = dynamodb_service_context
    iam_actions.dynamodb_transaction_checks = dynamodb_transaction_checks
    iam_evaluator.enforce = enforce


# -- KMS encryption context, Bedrock Runtime's Converse ------------------------------------------

def _kms_context_keys(body: bytes) -> dict:
    """kms:EncryptionContext:<key> per pair of the request's EncryptionContext, and
    kms:EncryptionContextKeys: what AWS sets for a cryptographic operation."""
    try:
        data = json.loads(body or b"{}")
    except (ValueError, TypeError):
        return {}
    context = data.get("EncryptionContext") if isinstance(data, dict) else None
    if not isinstance(context, dict) or not context:
        return {}
    keys = {f"kms:EncryptionContext:{name}": value for name, value in context.items() if isinstance(value, str)}
    keys["kms:EncryptionContextKeys"] = sorted(context)
    return keys


def patch_kms_encryption_context() -> None:
    # ministack imports request_tag_context from its module at each request and merges what it
    # returns into the request's condition keys.
    original = iam_actions.request_tag_context

    def request_tag_context(service, iam_action, body, params):
        context = original(service, iam_action, body, params)
        if service == "kms":
            context = {**context, **_kms_context_keys(body)}
        return context

    iam_actions.request_tag_context = request_tag_context


BEDROCK_RUNTIME_PERMISSIONS = {
    "bedrock:Converse": "bedrock:InvokeModel",
    "bedrock:ConverseStream": "bedrock:InvokeModelWithResponseStream",
}


def patch_bedrock_converse_permissions() -> None:
    original_action = iam_actions.extract_iam_action
    original_arn = iam_actions.extract_resource_arn

    def extract_iam_action(service, *args, **kwargs):
        action = original_action(service, *args, **kwargs)
        return BEDROCK_RUNTIME_PERMISSIONS.get(action, action) if service == "bedrock-runtime" else action

    def extract_resource_arn(service, *args, **kwargs):
        arn = original_arn(service, *args, **kwargs)
        return unquote(arn) if service == "bedrock-runtime" and isinstance(arn, str) else arn

    iam_actions.extract_iam_action = extract_iam_action
    iam_actions.extract_resource_arn = extract_resource_arn


def patch_metric_math_alarms() -> None:
    """ministack 1.5.33 refuses an AWS::CloudWatch::Alarm with `Metrics` (metric math: the 5xx
    rate, the summed DynamoDB throttles, cache errors and Lambda throttles of template.yaml), and
    so the whole stack. AWS stores such an alarm with its `Metrics` and no single metric; this
    records it the same way (ministack's own record for everything else, then the single-metric
    fields replaced by `Metrics`). ministack evaluates only single-metric alarms, so these stay in
    INSUFFICIENT_DATA, which the smoke journey does not depend on."""
    original = provisioners._cw_metric_alarm_record

    def record(name, props):
        if not props.get("Metrics"):
            return original(name, props)
        single = {k: v for k, v in props.items() if k != "Metrics"}
        single.update(MetricName="-", Namespace="-")
        alarm = original(name, single)
        for key in ("MetricName", "Namespace", "Statistic", "ExtendedStatistic", "Period", "Dimensions", "Unit"):
            alarm.pop(key, None)
        alarm["Metrics"] = props["Metrics"]
        return alarm

    provisioners._cw_metric_alarm_record = record


def register() -> list[str]:
    registered = []
    for resource_type, handler in PROVIDERS.items():
        if resource_type not in provisioners._RESOURCE_HANDLERS:
            provisioners._RESOURCE_HANDLERS[resource_type] = handler
            registered.append(resource_type)
    return registered


if __name__ == "__main__":
    added = register()
    print("bourse: CloudFormation providers added to ministack: " + (", ".join(added) or "none needed"), flush=True)
    patch_sqs_batch_permissions()
    print("bourse: IAM: SQS batch actions authorized by their single action's permission, as in AWS", flush=True)
    patch_metric_math_alarms()
    print("bourse: CloudWatch: metric-math alarms recorded with their Metrics, as in AWS", flush=True)
    patch_dynamodb_leading_keys()
    print("bourse: IAM: DynamoDB requests carry dynamodb:LeadingKeys (their partition-key values), as in AWS", flush=True)
    patch_kms_encryption_context()
    print("bourse: IAM: KMS requests carry kms:EncryptionContext:<key> and kms:EncryptionContextKeys, as in AWS", flush=True)
    patch_bedrock_converse_permissions()
    print("bourse: IAM: Bedrock Converse(Stream) authorized as InvokeModel(WithResponseStream) on the model's ARN, as in AWS", flush=True)
    from ministack.app import main

    sys.argv = ["ministack"]
    main()
