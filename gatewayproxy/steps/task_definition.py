"""Step 1: the task execution role, the log group and the Fargate task definition."""

from __future__ import annotations

import json
from typing import Any

from gatewayproxy import arns
from gatewayproxy.errors import AwsError, GatewayProxyError
from gatewayproxy.steps import log_groups
from gatewayproxy.steps.base import Context, StepStatus, drift_or_error, ignore_missing, tag_value

NAME = "task_definition"
NEEDS: tuple[str, ...] = ()

EXECUTION_POLICY = arns.managed_policy("service-role/AmazonECSTaskExecutionRolePolicy")
# IAM is global, the rest of the stack is regional: the role says which region's stack owns it.
REGION_TAG = "gatewayproxy:region"


def trust_policy(account_id: str) -> dict[str, Any]:
    """ECS tasks may assume the role, and only for this account (no confused deputy)."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow",
                       "Principal": {"Service": arns.service_principal("ecs-tasks")},
                       "Action": "sts:AssumeRole",
                       "Condition": {"StringEquals": {"aws:SourceAccount": account_id}}}],
    }


def role_name(ctx: Context) -> str:
    """One role per region's stack: IAM names are account-wide, so the same stack name in two
    regions must not share (and delete) one role. At most 13 + 23 + 1 + 15 + 10 = 62 of IAM's
    64 characters (longest stack name, longest region name: see the tests). Earlier versions
    named it after the stack alone (`gatewayproxy-<stack>-execution`): see _keep_legacy_role."""
    return ctx.name(f"{ctx.aws.region}-execution")


def owns_role(ctx: Context, tags: Any, legacy: bool = False) -> bool:
    """Ours: this stack's tag and this region's (a legacy role carries no region tag)."""
    return ctx.owns(tags) and tag_value(tags, REGION_TAG) == (None if legacy else ctx.aws.region)


def log_group(ctx: Context) -> str:
    return f"/gatewayproxy/{ctx.stack}"


def family(ctx: Context) -> str:
    return ctx.name("app")


def container_definition(ctx: Context) -> dict[str, Any]:
    """The one container, exactly as we send it (and compare it on the next run)."""
    cfg = ctx.config
    return {
        "name": cfg.container_name,
        "image": cfg.image,
        "essential": True,
        "portMappings": [{"containerPort": cfg.port, "protocol": "tcp"}],
        "environment": [{"name": k, "value": v} for k, v in sorted(cfg.environment.items())],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": log_group(ctx), "awslogs-region": ctx.aws.region,
                        "awslogs-stream-prefix": "app"},
        },
    }


def apply(ctx: Context) -> None:
    role_arn = _ensure_role(ctx)
    log_groups.ensure(ctx, NAME, "log_group", log_group(ctx), "log-group")
    arn = _ensure_task_definition(ctx, role_arn)
    ctx.outputs.publish("task_definition.arn", arn)
    ctx.state.mark_done(NAME)


def check(ctx: Context) -> None:
    """Before any write: a role of our name that is not this region's stack's stops `up`."""
    _find_role(ctx)


ROLE = f"{NAME}.role"  # what _find_role found ({} for none), kept for the command


def _find_role(ctx: Context) -> dict[str, Any] | None:
    """Our regional role, or None; looked up once per command (check, then apply)."""
    known: dict[str, Any] | None = ctx.outputs.get(ROLE)
    if known is not None:
        return known or None
    name = role_name(ctx)
    found = ctx.aws.find("iam", "get_role", RoleName=name)
    role: dict[str, Any] | None = found["Role"] if found else None
    if role is not None:
        tags = ctx.aws.call("iam", "list_role_tags", RoleName=name)["Tags"]
        if not owns_role(ctx, tags):
            raise GatewayProxyError(f"IAM role {name} exists but is not tagged as stack "
                                    f"{ctx.stack}'s in {ctx.aws.region}; rename the stack or "
                                    "remove the role")
    ctx.outputs.publish(ROLE, role or {})
    return role


def _ensure_role(ctx: Context) -> str:
    name = role_name(ctx)
    role = _find_role(ctx)
    if role is None:
        role = ctx.aws.call(
            "iam", "create_role", RoleName=name,
            AssumeRolePolicyDocument=json.dumps(trust_policy(ctx.aws.account_id)),
            Description=f"gatewayproxy {ctx.stack} in {ctx.aws.region}: lets ECS pull the image "
                        "and write logs",
            Tags=[*ctx.tag_list(NAME, "execution-role"),
                  {"Key": REGION_TAG, "Value": ctx.aws.region}],
        )["Role"]
        ctx.outputs.publish(ROLE, role)
    _keep_legacy_role(ctx, name)
    ctx.state.record(NAME, "execution_role", name)
    attached = ctx.aws.call("iam", "list_attached_role_policies", RoleName=name)
    if EXECUTION_POLICY not in {p["PolicyArn"] for p in attached["AttachedPolicies"]}:
        ctx.aws.call("iam", "attach_role_policy", RoleName=name, PolicyArn=EXECUTION_POLICY)
    return str(role["Arn"])


def _keep_legacy_role(ctx: Context, name: str) -> None:
    """A stack made by an earlier version recorded the stack-wide role: it moves to its own
    role (the new task-definition revision names it, the service rolls onto it). The old role
    stays until `down`: tasks of the old revision may still be running or rolled back to."""
    recorded = ctx.state.get(NAME, "execution_role")
    if recorded and recorded != name:
        ctx.state.record(NAME, "legacy_execution_role", recorded)
        ctx.report(NAME, f"moving to the regional execution role {name}; `down` deletes the "
                         f"old {recorded} unless another region used it last")


def desired_task_definition(ctx: Context, role_arn: str) -> dict[str, Any]:
    cfg = ctx.config
    return {
        "family": family(ctx),
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": str(cfg.cpu),
        "memory": str(cfg.memory),
        "executionRoleArn": role_arn,
        "containerDefinitions": [container_definition(ctx)],
    }


def _ensure_task_definition(ctx: Context, role_arn: str) -> str:
    desired = desired_task_definition(ctx, role_arn)
    current = _latest(ctx)
    if current is not None and _matches(current, desired):
        arn = str(current["taskDefinitionArn"])
    else:
        if current is not None:
            changes = differences(current, desired)
            ctx.outputs.publish(f"{NAME}.changes", changes)
            ctx.report(NAME, "new revision: " + ", ".join(changes))
        tags = [{"key": k, "value": v} for k, v in ctx.tags(NAME, "task-definition").items()]
        # A brand-new execution role may be "not valid" for a few seconds while IAM propagates.
        arn = ctx.aws.call("ecs", "register_task_definition", tags=tags,
                           retry=("ClientException:role is not valid",),
                           **desired)["taskDefinition"]["taskDefinitionArn"]
    ctx.state.record(NAME, "task_definition_arn", arn)
    return arn


def _latest(ctx: Context) -> dict[str, Any] | None:
    try:
        found = ctx.aws.call("ecs", "describe_task_definition", taskDefinition=family(ctx),
                             include=["TAGS"])
    except AwsError as exc:
        if exc.code in ("ClientException", "InvalidParameterException"):
            return None
        raise
    if not ctx.owns(found.get("tags", [])):
        raise GatewayProxyError(f"task definition family {family(ctx)} exists but is not "
                                f"stack {ctx.stack}'s")
    definition: dict[str, Any] = found["taskDefinition"]
    return definition if definition.get("status", "ACTIVE") == "ACTIVE" else None


def differences(current: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """What a new revision changes, in the config's words (environment: names, never values)."""
    have = (current.get("containerDefinitions") or [{}])[0]
    want = desired["containerDefinitions"][0]
    pairs = [
        ("execution role", current.get("executionRoleArn"), desired["executionRoleArn"]),
        ("image", have.get("image"), want["image"]),
        ("cpu", current.get("cpu"), desired["cpu"]),
        ("memory", current.get("memory"), desired["memory"]),
        ("port", [p.get("containerPort") for p in have.get("portMappings", [])],
         [p["containerPort"] for p in want["portMappings"]]),
    ]
    changed = [f"{key}: {_plain(old)} -> {_plain(new)}" for key, old, new in pairs if old != new]
    environment = environment_change(_variables(have), _variables(want))
    if environment:
        changed.append(environment)
    return changed or ["container settings"]


def _variables(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("environment") or []}


def environment_change(old: dict[str, str], new: dict[str, str]) -> str | None:
    """`environment: added A; changed B; removed C`, or None. Only names: a value may be a
    secret someone put there anyway, and plan and up output end up in CI logs."""
    groups = [("added", sorted(new.keys() - old.keys())),
              ("changed", sorted(k for k in old.keys() & new.keys() if old[k] != new[k])),
              ("removed", sorted(old.keys() - new.keys()))]
    words = [f"{verb} {', '.join(names)}" for verb, names in groups if names]
    return "environment: " + "; ".join(words) if words else None


def _plain(value: Any) -> str:
    if isinstance(value, list) and len(value) == 1:
        return str(value[0])
    return str(value)


def _matches(have: Any, want: Any) -> bool:
    """True if `have` holds everything we set in `want`; what AWS adds (hostPort, defaults)
    does not count as a difference."""
    if want in ([], {}) and have is None:
        return True
    if isinstance(want, dict):
        return isinstance(have, dict) and all(_matches(have.get(k), v) for k, v in want.items())
    if isinstance(want, list):
        return (isinstance(have, list) and len(have) == len(want)
                and all(_matches(h, w) for h, w in zip(have, want, strict=True)))
    return bool(have == want)


def destroy(ctx: Context) -> None:
    try:
        latest = _latest(ctx)
    except GatewayProxyError:
        latest = None  # a family of the same name that is not ours: leave it alone
    if latest is not None:
        for arn in _our_revisions(ctx):
            ctx.aws.call("ecs", "deregister_task_definition", taskDefinition=arn)
    ctx.state.forget(NAME, "task_definition_arn")
    log_groups.delete(ctx, NAME, "log_group", log_group(ctx))
    # The regional role, and a legacy one only if this stack's state names it (another
    # region's stack of the same name may still use a legacy role it never recorded here).
    recorded = {ctx.state.get(NAME, "execution_role"), ctx.state.get(NAME, "legacy_execution_role")}
    _delete_role(ctx, role_name(ctx), legacy=False)
    ctx.outputs.publish(ROLE, {})
    for name in sorted(n for n in recorded if n and n != role_name(ctx)):
        _delete_role(ctx, name, legacy=True)
    ctx.state.forget(NAME, "legacy_execution_role")
    ctx.state.forget(NAME, "execution_role")


def _delete_role(ctx: Context, name: str, legacy: bool) -> None:
    """Only if it is this region's stack's: the same stack name elsewhere has its own."""
    found = ctx.aws.find("iam", "list_role_tags", RoleName=name)
    if found is None or not owns_role(ctx, found["Tags"], legacy):
        return
    if legacy and (used := _last_used_elsewhere(ctx, name)):
        ctx.report(NAME, f"kept the earlier version's role {name}: last used in {used}, where a "
                         "stack of the same name may still run on it; delete it once none does")
        return
    ignore_missing(("NoSuchEntity",), lambda: ctx.aws.call(
        "iam", "detach_role_policy", RoleName=name, PolicyArn=EXECUTION_POLICY))
    ignore_missing(("NoSuchEntity",), lambda: ctx.aws.call("iam", "delete_role", RoleName=name))


def _last_used_elsewhere(ctx: Context, name: str) -> str | None:
    """The other region a legacy (stack-wide) role was last used in, if any: the same stack name
    there, still on an earlier version, shares it (IAM's RoleLastUsed.Region, GetRole)."""
    found = ctx.aws.find("iam", "get_role", RoleName=name)
    region = ((found or {}).get("Role", {}).get("RoleLastUsed") or {}).get("Region")
    return str(region) if region and region != ctx.aws.region else None


def _our_revisions(ctx: Context) -> list[str]:
    return [arn for arn in ctx.aws.pages("ecs", "list_task_definitions", items="taskDefinitionArns",
                                         token="nextToken", familyPrefix=family(ctx),
                                         status="ACTIVE")
            if arn.split("/")[-1].rsplit(":", 1)[0] == family(ctx)]


def status(ctx: Context) -> StepStatus:
    arn = ctx.state.get(NAME, "task_definition_arn")
    if not arn:
        return StepStatus(NAME, False, None, "not created")
    try:
        found = ctx.aws.call("ecs", "describe_task_definition", taskDefinition=arn)
    except AwsError as exc:
        return drift_or_error(ctx, NAME, exc, "task definition missing (drift)")
    definition = found["taskDefinition"]
    image = definition["containerDefinitions"][0]["image"]
    drift = image != ctx.config.image
    return StepStatus(
        NAME, ctx.state.is_done(NAME), definition["status"] == "ACTIVE" and not drift,
        f"revision {definition['revision']} {image}" + (" (config differs: run up)" if drift else ""),
        ctx.state.resources(NAME), {"revision": definition["revision"], "image": image},
    )
