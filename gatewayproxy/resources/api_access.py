"""Who may call the API and how much: the usage plan and its API keys, the Lambda invoke
permissions of Lambda routes, stage throttling and access logs. The helpers the rest_api step's
resources use (gatewayproxy/resources: usage_plan, lambda_permission, api_stage,
access_log_group), and the API keys of `gatewayproxy keys` (`up` never makes keys).

Everything here is found by the stack's tag, a fixed name or a fixed statement id before it is
created, so a re-run after a crash converges instead of making a second one. An API key's value
is returned to the caller once and never recorded.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from gatewayproxy import arns
from gatewayproxy.config import Route
from gatewayproxy.context import Context, tag_value
from gatewayproxy.errors import GatewayProxyError
from gatewayproxy.resources.common import ignore_missing

STEP = "rest_api"
KEY_TAG = "gatewayproxy:key"
# One JSON object per request: enough to trace a call without logging its body or headers.
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime", "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath", "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
}, separators=(",", ":"))
# The account-wide role API Gateway needs to write any access log (AWS's own "one per account").
ACCOUNT_LOG_ROLE = "gatewayproxy-apigateway-cloudwatch"
NO_LOG_ROLE = "BadRequestException:CloudWatch Logs role"
LOG_ROLE_TAG = {"Key": "gatewayproxy:account", "Value": "apigateway-logs"}
# The trust AWS documents for this role ("Permissions for CloudWatch logging", set-up-logging;
# the AWS::ApiGateway::Account example in CloudFormation): the service principal, no conditions.
# An aws:SourceAccount condition is not in any of AWS's examples and reportedly makes
# UpdateAccount refuse the role.
LOG_ROLE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": arns.service_principal("apigateway")},
                   "Action": "sts:AssumeRole"}],
}
LOG_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
        "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogGroups",
        "logs:DescribeLogStreams", "logs:PutLogEvents", "logs:GetLogEvents",
        "logs:FilterLogEvents"]}],
}


def _pages(ctx: Context, operation: str, **params: Any) -> list[dict[str, Any]]:
    return list(ctx.aws.pages("apigateway", operation, items="items", token="position",
                              **{"limit": 500, **params}))


# -- usage plan ---------------------------------------------------------------------------------
def find_usage_plan(ctx: Context) -> dict[str, Any] | None:
    """Ours by the stack's tag (usage plan names are not unique)."""
    return next((p for p in _pages(ctx, "get_usage_plans") if ctx.owns(p.get("tags"))), None)


def _wanted_plan(ctx: Context) -> tuple[dict[str, Any], dict[str, Any] | None]:
    plan = ctx.config.usage_plan
    throttle = {"rateLimit": plan.rate, "burstLimit": plan.burst}
    quota = {"limit": plan.quota, "period": plan.quota_period.upper()} if plan.quota else None
    return throttle, quota




def _plan_patch(plan: dict[str, Any], stage: dict[str, str], throttle: dict[str, Any],
                quota: dict[str, Any] | None) -> list[dict[str, str]]:
    ops: list[dict[str, str]] = []
    stages = [{"apiId": s.get("apiId"), "stage": s.get("stage")} for s in plan.get("apiStages") or []]
    if stage not in stages:
        ops.append({"op": "add", "path": "/apiStages", "value": f"{stage['apiId']}:{stage['stage']}"})
    ops += [{"op": "remove", "path": "/apiStages", "value": f"{s['apiId']}:{s['stage']}"}
            for s in stages if s != stage]
    ops += _settings_patch("/throttle", plan.get("throttle"), throttle)
    current = plan.get("quota")
    if quota is None and current:
        ops.append({"op": "remove", "path": "/quota"})
    elif quota is not None:
        ops += _settings_patch("/quota", current, quota)
    return ops


def _settings_patch(path: str, have: dict[str, Any] | None,
                    want: dict[str, Any]) -> list[dict[str, str]]:
    """Patch a plan's throttle or quota to `want`. AWS takes `replace` only on settings the plan
    already has; a plan without them needs `add` (Terraform's resourceUsagePlanUpdate does the
    same: OpAdd on /quota/limit, /quota/period when the plan had no quota_settings)."""
    op = "replace" if have else "add"
    have = have or {}
    return [{"op": op, "path": f"{path}/{key}", "value": str(value)}
            for key, value in want.items() if not _same(have.get(key), value)]


def _same(have: Any, want: Any) -> bool:
    if have is None:
        return False
    if isinstance(want, str):
        return str(have) == want
    return float(have) == float(want)




# -- API keys -----------------------------------------------------------------------------------
def list_keys(ctx: Context) -> list[dict[str, Any]]:
    """The stack's API keys, without their values."""
    keys = [k for k in _pages(ctx, "get_api_keys", includeValues=False) if ctx.owns(k.get("tags"))]
    for key in keys:
        key.pop("value", None)  # some endpoints send it anyway; it must go no further
    return keys


def find_key(ctx: Context, name: str) -> dict[str, Any] | None:
    return next((k for k in list_keys(ctx) if tag_value(k.get("tags"), KEY_TAG) == name), None)


def key_in_plan(ctx: Context, plan_id: str, key_id: str) -> bool:
    return ctx.aws.find("apigateway", "get_usage_plan_key", usagePlanId=plan_id,
                        keyId=key_id) is not None


def create_key(ctx: Context, name: str) -> tuple[str, str]:
    """A new enabled key in the stack's usage plan: (id, value). The value exists only here."""
    plan = find_usage_plan(ctx)
    if plan is None:
        raise GatewayProxyError(f"stack {ctx.stack} has no usage plan: give a route "
                                "auth = \"api_key\" and run `gatewayproxy up` first")
    existing = find_key(ctx, name)
    if existing is not None:
        if key_in_plan(ctx, plan["id"], existing["id"]):
            raise GatewayProxyError(f"API key {name} already exists; `gatewayproxy keys revoke "
                                    f"{name}` first to replace it")
        # An earlier create stopped before the key joined the plan: its value was never shown.
        ignore_missing(("NotFoundException",), ctx.aws.call, "apigateway", "delete_api_key",
                       apiKey=existing["id"])
    key = ctx.aws.call("apigateway", "create_api_key", name=f"{ctx.stack}-{name}",
                       description=f"gatewayproxy {ctx.stack}: key {name}", enabled=True,
                       tags={**ctx.tags(STEP, "api-key"), KEY_TAG: name})
    ctx.aws.call("apigateway", "create_usage_plan_key", usagePlanId=plan["id"], keyId=key["id"],
                 keyType="API_KEY", retry=("NotFoundException",), retry_for=30.0)
    return str(key["id"]), str(key["value"])


def revoke_key(ctx: Context, name: str) -> str:
    """Delete the key: requests carrying it are refused from then on. Returns its id."""
    key = find_key(ctx, name)
    if key is None:
        raise GatewayProxyError(f"stack {ctx.stack} has no API key named {name} "
                                "(see `gatewayproxy keys list`)")
    _delete_key(ctx, key["id"])
    return str(key["id"])


def _delete_key(ctx: Context, key_id: str) -> None:
    plan = find_usage_plan(ctx)
    if plan is not None:
        ignore_missing(("NotFoundException",), ctx.aws.call, "apigateway", "delete_usage_plan_key",
                       usagePlanId=plan["id"], keyId=key_id)
    ignore_missing(("NotFoundException",), ctx.aws.call, "apigateway", "delete_api_key",
                   apiKey=key_id)


def delete_keys(ctx: Context) -> None:
    for key in list_keys(ctx):
        _delete_key(ctx, key["id"])


# -- Lambda routes ------------------------------------------------------------------------------
FUNCTIONS = f"{STEP}.functions"  # where resolve_functions keeps its answer for the command


def resolve_functions(ctx: Context) -> dict[str, str]:
    """Each Lambda route's function (ARN or name in the config) -> its full ARN, checked to exist.

    Runs in the rest_api step's check, before any step writes, so a missing function stops
    `up` and `plan` with nothing changed; the answer is kept for the step (one lookup each).
    """
    known: dict[str, str] | None = ctx.outputs.get(FUNCTIONS)
    if known is not None:
        return known
    found_arns: dict[str, str] = {}
    for wanted in sorted({r.function for r in ctx.config.routes if r.function}):
        base, qualifier = split_arn(wanted) if wanted.startswith("arn:") else (wanted, None)
        _refuse_another_region(ctx, wanted)
        params: dict[str, Any] = {"Qualifier": qualifier} if qualifier else {}
        found = ctx.aws.find("lambda", "get_function", FunctionName=base, **params)
        if found is None:
            raise GatewayProxyError(
                f"Lambda function {wanted} does not exist in {ctx.aws.region} (api.routes lambda); "
                "create it first: gatewayproxy never creates or deletes functions")
        arn = str(found["Configuration"]["FunctionArn"])
        arn = split_arn(arn)[0] + (f":{qualifier}" if qualifier else "")
        found_arns[wanted] = arn
    ctx.outputs.publish(FUNCTIONS, found_arns)
    return found_arns


def _refuse_another_region(ctx: Context, wanted: str) -> None:
    """Lambda answers an ARN of another region with ResourceNotFoundException ("Functions from
    'us-east-1' are not reachable in this region"): say what is really wrong, before any call."""
    if wanted.startswith("arn:") and wanted.split(":")[3] != ctx.aws.region:
        raise GatewayProxyError(
            f"Lambda function {wanted} is in {wanted.split(':')[3]}, but the stack is in "
            f"{ctx.aws.region} (api.routes lambda); gatewayproxy supports only functions in the "
            "stack's region for now")


def split_arn(arn: str) -> tuple[str, str | None]:
    """arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] -> (unqualified ARN, qualifier)."""
    parts = arn.split(":")
    return ":".join(parts[:7]), (parts[7] if len(parts) > 7 else None)


def lambda_uri(function_arn: str) -> str:
    return arns.lambda_invocation_uri(function_arn)


def statement_prefix(ctx: Context) -> str:
    # Stack names never hold "--", so no other stack's prefix can start with this one.
    return f"gatewayproxy-{ctx.stack}--"


def statement_id(ctx: Context, route: Route, method: str) -> str:
    digest = hashlib.sha256(route.path.encode()).hexdigest()[:12]
    return f"{statement_prefix(ctx)}{method}-{digest}"


def source_arn(ctx: Context, api_id: str, route: Route, method: str) -> str:
    """Only this API, any stage, this method and path (path parameters match anything)."""
    path = "/".join("*" if p.startswith("{") else p for p in route.parts)
    verb = "*" if method == "ANY" else method
    return arns.arn("execute-api", ctx.aws.region, ctx.aws.account_id, f"{api_id}/*/{verb}/{path}")


def wanted_permissions(ctx: Context, api_id: str, arns: dict[str, str]) -> dict[str, dict[str, str]]:
    """function ARN -> statement id -> source ARN."""
    wanted: dict[str, dict[str, str]] = {}
    for route in ctx.config.routes:
        if route.function:
            for method in route.methods:
                wanted.setdefault(arns[route.function], {})[statement_id(ctx, route, method)] = \
                    source_arn(ctx, api_id, route, method)
    return wanted


def our_statements(ctx: Context, function_arn: str) -> dict[str, str | None]:
    """The stack's statements in a function's policy: statement id -> source ARN."""
    base, qualifier = split_arn(function_arn)
    params: dict[str, Any] = {"Qualifier": qualifier} if qualifier else {}
    # None: no policy, or no function any more (both ResourceNotFoundException).
    policy = ctx.aws.find("lambda", "get_policy", FunctionName=base, **params) or {}
    statements = json.loads(policy.get("Policy") or "{}").get("Statement", [])
    return {s["Sid"]: ((s.get("Condition") or {}).get("ArnLike") or {}).get("AWS:SourceArn")
            for s in statements if str(s.get("Sid", "")).startswith(statement_prefix(ctx))}




def _add_permission(ctx: Context, function_arn: str, sid: str, arn: str) -> None:
    base, qualifier = split_arn(function_arn)
    params: dict[str, Any] = {"Qualifier": qualifier} if qualifier else {}
    ctx.aws.call("lambda", "add_permission", FunctionName=base, StatementId=sid,
                 Action="lambda:InvokeFunction", Principal=arns.service_principal("apigateway"),
                 SourceArn=arn, **params)


def _remove_permission(ctx: Context, function_arn: str, sid: str) -> None:
    base, qualifier = split_arn(function_arn)
    params: dict[str, Any] = {"Qualifier": qualifier} if qualifier else {}
    ignore_missing(("ResourceNotFoundException",), ctx.aws.call, "lambda", "remove_permission",
                   FunctionName=base, StatementId=sid, **params)






# -- stage throttling and access logs -----------------------------------------------------------
def access_log_group(ctx: Context) -> str:
    return f"/gatewayproxy/{ctx.stack}/access"


def access_log_arn(ctx: Context) -> str:
    return arns.arn("logs", ctx.aws.region, ctx.aws.account_id,
                    f"log-group:{access_log_group(ctx)}")


def method_key(path: str, method: str) -> str:
    """A stage method-settings key: `~1teams~1{team}/GET` (`/` escaped as `~1`), ANY as `*`."""
    return path.replace("/", "~1") + "/" + ("*" if method == "ANY" else method)


def stage_settings(ctx: Context) -> list[dict[str, str]]:
    """The stage patch that applies the config's throttling and access logs (part of the hash)."""
    ops: list[dict[str, str]] = []
    keyed: list[tuple[str, Any]] = []
    if ctx.config.throttle:
        keyed.append(("*/*", ctx.config.throttle))
    for route in ctx.config.routes:
        if route.throttle:
            keyed += [(method_key(route.path, m), route.throttle) for m in route.methods]
    for key, throttle in keyed:
        ops.append({"op": "replace", "path": f"/{key}/throttling/rateLimit",
                    "value": str(float(throttle.rate))})
        ops.append({"op": "replace", "path": f"/{key}/throttling/burstLimit",
                    "value": str(throttle.burst)})
    if ctx.config.access_logs:
        ops.append({"op": "replace", "path": "/accessLogSettings/destinationArn",
                    "value": access_log_arn(ctx)})
        ops.append({"op": "replace", "path": "/accessLogSettings/format",
                    "value": ACCESS_LOG_FORMAT})
    return ops


def settings_patch(ctx: Context, stage: dict[str, Any]) -> list[dict[str, str]]:
    """The settings to apply, plus removal of throttling and logs the config no longer has."""
    ops = stage_settings(ctx)
    wanted = {op["path"].rsplit("/throttling/", 1)[0].lstrip("/") for op in ops
              if "/throttling/" in op["path"]}
    for key, setting in (stage.get("methodSettings") or {}).items():
        if key not in wanted and ("throttlingRateLimit" in setting
                                  or "throttlingBurstLimit" in setting):
            ops.append({"op": "remove", "path": f"/{key}"})
    if not ctx.config.access_logs and stage.get("accessLogSettings"):
        ops.append({"op": "remove", "path": "/accessLogSettings"})
    return ops






def ensure_account_log_role(ctx: Context) -> None:
    """API Gateway writes access logs only once the account (per region) names a CloudWatch
    role. Only called when AWS said none is set: then create ours and set it. It is
    account-wide, like the ECS service-linked role, so `down` leaves it."""
    ctx.report(STEP, "setting the account's API Gateway CloudWatch Logs role (once per region)")
    found = ctx.aws.find("iam", "get_role", RoleName=ACCOUNT_LOG_ROLE)
    if found is None:
        role = ctx.aws.call("iam", "create_role", RoleName=ACCOUNT_LOG_ROLE,
                            AssumeRolePolicyDocument=json.dumps(LOG_ROLE_TRUST),
                            Description="API Gateway writes access logs (account setting, "
                                        "made by gatewayproxy)",
                            Tags=[LOG_ROLE_TAG])["Role"]
    else:
        tags = ctx.aws.call("iam", "list_role_tags", RoleName=ACCOUNT_LOG_ROLE)["Tags"]
        if LOG_ROLE_TAG not in tags:  # never rewrite a role someone else made under this name
            raise GatewayProxyError(
                f"IAM role {ACCOUNT_LOG_ROLE} exists but was not made by gatewayproxy; set the "
                "account's API Gateway CloudWatch Logs role yourself, or set api.access_logs = false")
        # Made by an older gatewayproxy with an aws:SourceAccount condition: use the plain trust.
        ctx.aws.call("iam", "update_assume_role_policy", RoleName=ACCOUNT_LOG_ROLE,
                     PolicyDocument=json.dumps(LOG_ROLE_TRUST))
        role = found["Role"]
    ctx.aws.call("iam", "put_role_policy", RoleName=ACCOUNT_LOG_ROLE, PolicyName="push-logs",
                 PolicyDocument=json.dumps(LOG_ROLE_POLICY))
    # A new role takes a few seconds before API Gateway may assume it.
    ctx.aws.call("apigateway", "update_account", patchOperations=[
        {"op": "replace", "path": "/cloudwatchRoleArn", "value": role["Arn"]}],
        retry=("BadRequestException",), retry_for=120.0)
