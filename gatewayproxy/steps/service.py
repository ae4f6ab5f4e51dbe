"""Step 6: the target group, the NLB listener, the tasks' security group and the ECS service."""

from __future__ import annotations

import uuid
from typing import Any

from gatewayproxy.config import subnet_cidrs
from gatewayproxy.errors import AwsError, GatewayProxyError
from gatewayproxy.steps import autoscaling, ec2, target_group
from gatewayproxy.steps.base import Context, StepStatus, drift_or_error, ignore_missing
from gatewayproxy.steps.cluster import SLR_NOT_READY

NAME = "service"
NEEDS = ("task_definition.arn", "cluster.vpc_id", "private_subnet.subnets", "load_balancer.arn",
         "nat_gateway.ready")
TIMEOUT = 20 * 60


def service_name(ctx: Context) -> str:
    return ctx.stack


def apply(ctx: Context) -> None:
    vpc_id = ctx.outputs.need("cluster.vpc_id")
    nlb_arn = ctx.outputs.need("load_balancer.arn")
    group_arn = target_group.ensure_group(ctx, vpc_id)
    target_group.ensure_listener(ctx, nlb_arn, group_arn)
    ctx.outputs.publish("service.target_group_arn", group_arn)
    security_group = _ensure_security_group(ctx, vpc_id)
    subnets = ctx.outputs.need("private_subnet.subnets")
    task_definition = ctx.outputs.need("task_definition.arn")
    # Tasks in private subnets pull their image through the NAT gateway: start them once it routes.
    ctx.outputs.need("nat_gateway.ready")
    service = _ensure_service(ctx, task_definition, group_arn, subnets, security_group)
    _ensure_autoscaling(ctx)
    wait_stable(ctx, service)
    ctx.outputs.publish("service.stable", True)
    ctx.state.mark_done(NAME)


def _ensure_autoscaling(ctx: Context) -> None:
    cluster = ctx.outputs.need("cluster.name")
    if ctx.config.autoscaling is None:
        autoscaling.remove(ctx, cluster, service_name(ctx))
        return
    words = autoscaling.ensure(ctx, cluster, service_name(ctx))
    if words:
        earlier = list(ctx.outputs.get(f"{NAME}.changes") or [])
        ctx.outputs.publish(f"{NAME}.changes", earlier + words)


def _ensure_security_group(ctx: Context, vpc_id: str) -> str:
    group = ec2.ensure(ctx, NAME, "security_group", ec2.SECURITY_GROUP, "task-security-group",
                       lambda specs: ctx.aws.call(
                           "ec2", "create_security_group", GroupName=ctx.name("tasks"),
                           Description=f"gatewayproxy {ctx.stack}: container port from the NLB only",
                           VpcId=vpc_id, TagSpecifications=specs, retry=ec2.JUST_CREATED))
    group_id = str(group["GroupId"])
    # The NLB's nodes (and so its health checks and traffic) live in the private subnets.
    _, private = subnet_cidrs(ctx.config.vpc_cidr, ctx.config.availability_zones)
    wanted = {"IpProtocol": "tcp", "FromPort": ctx.config.port, "ToPort": ctx.config.port,
              "IpRanges": [{"CidrIp": cidr, "Description": "NLB to the container"}
                           for cidr in private]}
    current = group.get("IpPermissions", [])
    stale = [p for p in current if not _same_rule(p, wanted)]
    if stale:
        ctx.aws.call("ec2", "revoke_security_group_ingress", GroupId=group_id, IpPermissions=stale)
    if not any(_same_rule(p, wanted) for p in current):
        try:
            ctx.aws.call("ec2", "authorize_security_group_ingress", GroupId=group_id,
                         IpPermissions=[wanted], retry=ec2.JUST_CREATED)
        except AwsError as exc:
            if exc.code != "InvalidPermission.Duplicate":
                raise
    return group_id


def _same_rule(have: dict[str, Any], want: dict[str, Any]) -> bool:
    return (have.get("IpProtocol") == want["IpProtocol"]
            and have.get("FromPort") == want["FromPort"] and have.get("ToPort") == want["ToPort"]
            and sorted(r.get("CidrIp") for r in have.get("IpRanges", []))
            == sorted(r["CidrIp"] for r in want["IpRanges"])
            and not have.get("UserIdGroupPairs") and not have.get("Ipv6Ranges")
            and not have.get("PrefixListIds"))


def describe(ctx: Context) -> dict[str, Any] | None:
    cluster = ctx.outputs.get("cluster.name") or ctx.state.get("cluster", "cluster")
    if not cluster:
        return None
    try:
        found = ctx.aws.call("ecs", "describe_services", cluster=cluster,
                             services=[service_name(ctx)], include=["TAGS"])
    except AwsError as exc:
        if exc.code in ("ClusterNotFoundException",):
            return None
        raise
    services = [s for s in found["services"] if s["status"] != "INACTIVE"]
    return services[0] if services else None


def _ensure_service(ctx: Context, task_definition: str, group_arn: str, subnets: list[str],
                    security_group: str) -> dict[str, Any]:
    cluster = ctx.outputs.need("cluster.name")
    balancers = [{"targetGroupArn": group_arn, "containerName": ctx.config.container_name,
                  "containerPort": ctx.config.port}]
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [security_group],
                                       "assignPublicIp": "DISABLED"}}
    service = describe(ctx)
    if service is not None and service["status"] == "DRAINING":
        _wait_inactive(ctx, cluster)
        service = None
    if service is None:
        token = uuid.uuid5(uuid.NAMESPACE_URL, f"gatewayproxy:{ctx.stack}:{task_definition}:"
                                               f"{group_arn}")
        tags = [{"key": k, "value": v} for k, v in ctx.tags(NAME, "service").items()]
        service = ctx.aws.call(
            "ecs", "create_service", cluster=cluster, serviceName=service_name(ctx),
            taskDefinition=task_definition, desiredCount=ctx.config.desired_count,
            launchType="FARGATE", networkConfiguration=network, loadBalancers=balancers,
            healthCheckGracePeriodSeconds=60, propagateTags="SERVICE",
            enableECSManagedTags=True, clientToken=str(token), tags=tags,
            # Without the circuit breaker a crash-looping container never reports FAILED.
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True,
                                                                  "rollback": False}},
            retry=(SLR_NOT_READY,),
        )["service"]
    else:
        if not ctx.owns(service.get("tags", [])):
            raise GatewayProxyError(f"ECS service {service_name(ctx)} is not stack {ctx.stack}'s")
        changes: dict[str, Any] = {}
        words: list[str] = []
        if service["taskDefinition"] != task_definition:
            changes["taskDefinition"] = task_definition
            words.append("rolling update to the new task definition")
        # With autoscaling on, the desired count is its to move; desired_count only starts it.
        if ctx.config.autoscaling is None and service["desiredCount"] != ctx.config.desired_count:
            changes["desiredCount"] = ctx.config.desired_count
            words.append(f"desired_count: {service['desiredCount']} -> {ctx.config.desired_count}")
        current = [_balancer(b) for b in service.get("loadBalancers", [])]
        if current != balancers:
            changes["loadBalancers"] = balancers
            old = current[0]["containerPort"] if current else "none"
            words.append(f"port: {old} -> {ctx.config.port} (new target group)")
        if changes:
            ctx.outputs.publish(f"{NAME}.changes", words)
            ctx.report(NAME, "; ".join(words))
            service = ctx.aws.call("ecs", "update_service", cluster=cluster,
                                   service=service_name(ctx), **changes)["service"]
    ctx.state.record(NAME, "service", service["serviceArn"])
    return service


def _balancer(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: entry.get(k) for k in ("targetGroupArn", "containerName", "containerPort")}


def wait_stable(ctx: Context, service: dict[str, Any]) -> None:
    """Wait until one deployment runs the desired number of tasks; fail on a failed rollout."""
    cluster = ctx.outputs.need("cluster.name")
    if _stable(service):
        return

    def check() -> tuple[bool, str]:
        current = describe(ctx)
        if current is None:
            raise GatewayProxyError(f"ECS service {service_name(ctx)} disappeared")
        primary = _primary(current)
        if primary.get("rolloutState") == "FAILED":
            events = "; ".join(e["message"] for e in current.get("events", [])[:3])
            raise GatewayProxyError(f"ECS service {service_name(ctx)} rollout failed: "
                                    f"{primary.get('rolloutStateReason', '')} {events}".strip())
        return _stable(current), (f"{current['runningCount']}/{current['desiredCount']} tasks "
                                  f"running, {current['pendingCount']} pending")

    ctx.aws.wait(f"service {service_name(ctx)} in {cluster}", check, TIMEOUT,
                 lambda m: ctx.report(NAME, m))


def _primary(service: dict[str, Any]) -> dict[str, Any]:
    return next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), {})


def _stable(service: dict[str, Any]) -> bool:
    """One deployment left, running the desired count, its rollout (if reported) complete."""
    deployments = service.get("deployments", [])
    return (len(deployments) == 1 and service["runningCount"] == service["desiredCount"]
            and _primary(service).get("rolloutState", "COMPLETED") == "COMPLETED")


def _wait_inactive(ctx: Context, cluster: str) -> None:
    def check() -> tuple[bool, str]:
        current = describe(ctx)
        return current is None, current["status"] if current else "INACTIVE"

    ctx.aws.wait(f"service {service_name(ctx)} deletion", check, TIMEOUT,
                 lambda m: ctx.report(NAME, m))


def destroy(ctx: Context) -> None:
    cluster = ctx.state.get("cluster", "cluster") or ctx.name("cluster")
    ctx.outputs.publish("cluster.name", cluster)
    autoscaling.remove(ctx, cluster, service_name(ctx))  # first: it would scale the service back
    service = describe(ctx)
    if service is not None and ctx.owns(service.get("tags", [])):
        if service["status"] == "ACTIVE":
            ignore_missing(("ServiceNotFoundException", "ServiceNotActiveException"),
                           lambda: ctx.aws.call("ecs", "delete_service", cluster=cluster,
                                                service=service_name(ctx), force=True))
        _wait_inactive(ctx, cluster)
    ctx.state.forget(NAME, "service")
    target_group.delete_listener(ctx)
    target_group.delete_groups(ctx, keep=None)
    ec2.delete(ctx, NAME, "security_group", ec2.SECURITY_GROUP, "task-security-group",
               lambda g: ctx.aws.call("ec2", "delete_security_group", GroupId=g))


def status(ctx: Context) -> StepStatus:
    if not ctx.state.get(NAME, "service"):
        return StepStatus(NAME, False, None, "not created", ctx.state.resources(NAME))
    drift = "service missing (drift)"
    try:
        service = describe(ctx)
    except AwsError as exc:
        return drift_or_error(ctx, NAME, exc, drift)
    if service is None:
        return StepStatus(NAME, ctx.state.is_done(NAME), False, drift, ctx.state.resources(NAME))
    summary = (f"{service['runningCount']}/{service['desiredCount']} running, "
               f"{service['pendingCount']} pending")
    cluster = ctx.state.get("cluster", "cluster") or ctx.name("cluster")
    try:
        scaling = autoscaling.describe(ctx, cluster, service_name(ctx))
    except AwsError as exc:
        return drift_or_error(ctx, NAME, exc, f"{summary}; autoscaling missing (drift)")
    if scaling:
        summary += f"; {scaling}"
    events = [e["message"] for e in service.get("events", [])[:3]]
    return StepStatus(NAME, ctx.state.is_done(NAME), _stable(service), summary,
                      ctx.state.resources(NAME),
                      {"running": service["runningCount"], "desired": service["desiredCount"],
                       "pending": service["pendingCount"], "events": events,
                       "autoscaling": scaling,
                       "task_definition": service["taskDefinition"]})
