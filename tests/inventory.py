"""What exists in the emulated account, by kind: to prove "exactly one of each" and "nothing left".

`inventory` reads moto's backends in this process (microseconds); `api_inventory` asks the same
through the AWS API (27 calls), and tests/test_inventory.py holds the two equal on full stacks.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from typing import Any

import boto3


@functools.cache
def _client(service: str, region: str) -> Any:
    return boto3.client(service, region_name=region)  # moto intercepts every client, old or new


def inventory(region: str) -> dict[str, list[str]]:
    """Each kind's ids, read from moto's backends: what `api_inventory` answers, without the
    27 requests."""
    ec2 = _backend("ec2", region)
    elb = _backend("elbv2", region)
    ecs = _backend("ecs", region)
    apigw = _backend("apigateway", region)
    vpcs = [v.id for v in ec2.describe_vpcs() if not v.is_default]
    nlbs = list(elb.describe_load_balancers(None, None))
    clusters = [c for c in ecs.clusters.values() if c.status == "ACTIVE"]
    arns = {c.arn for c in clusters}
    functions = _backend("lambda", region)
    scaling = _backend("applicationautoscaling", region)
    return {
        "vpcs": vpcs,
        "subnets": [s.id for s in ec2.describe_subnets() if s.vpc_id in vpcs],
        "route_tables": [t.id for t in ec2.describe_route_tables()
                         if t.vpc_id in vpcs and not t.main_association_id],
        "internet_gateways": [g.id for g in ec2.describe_internet_gateways()],
        "nat_gateways": [n.id for n in ec2.describe_nat_gateways(None, None)
                         if n.state not in ("deleted", "deleting")],
        "elastic_ips": [a.allocation_id for a in ec2.describe_addresses()],
        "security_groups": [g.id for g in ec2.describe_security_groups() if g.name != "default"],
        "load_balancers": [lb.arn for lb in nlbs],
        "listeners": [arn for lb in nlbs for arn in lb.listeners],
        "target_groups": [g.arn for g in elb.describe_target_groups(None, [], None)],
        "clusters": [c.name for c in clusters],
        "services": [s.name for s in ecs.services.values()
                     if s.cluster_arn in arns and s.status == "ACTIVE"],
        "task_definitions": [d.arn for revisions in ecs.task_definitions.values()
                             for d in revisions.values() if d.status == "ACTIVE"],
        "log_groups": sorted(_backend("logs", region).groups),  # as DescribeLogGroups
        "roles": [r.name for r in sorted(_backend("iam", "global").roles.values(),
                                         key=lambda role: role.id)  # as ListRoles
                  if r.name.startswith("gatewayproxy-")],
        "vpc_links": list(apigw.vpc_links),
        "rest_apis": list(apigw.apis),
        "usage_plans": list(apigw.usage_plans),
        "api_keys": list(apigw.keys),
        "vpc_links_v2": list(_backend("apigatewayv2", region).vpc_links),
        "lambda_permissions": [f"{f.function_name}:{s['Sid']}" for f in functions.list_functions()
                               for s in f.policy.statements
                               if s.get("Sid", "").startswith("gatewayproxy-")],
        "scalable_targets": [t.resource_id for dimension in scaling.targets.values()
                             for t in dimension.values() if t.service_namespace == "ecs"],
    }


def _backend(service: str, region: str) -> Any:
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID

    return get_backend(service)[DEFAULT_ACCOUNT_ID][region]  # type: ignore[call-overload]


def api_inventory(region: str) -> dict[str, list[str]]:
    ec2 = _client("ec2", region)
    elb = _client("elbv2", region)
    ecs = _client("ecs", region)
    apigw = _client("apigateway", region)
    logs = _client("logs", region)
    iam = _client("iam", region)
    vpcs = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
    in_vpcs = [{"Name": "vpc-id", "Values": vpcs}] if vpcs else None
    nlbs = [lb["LoadBalancerArn"] for lb in elb.describe_load_balancers()["LoadBalancers"]]
    clusters = [c for c in ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"])[
        "clusters"] if c["status"] == "ACTIVE"] if ecs.list_clusters()["clusterArns"] else []
    services: list[str] = []
    for cluster in clusters:
        arns = ecs.list_services(cluster=cluster["clusterArn"])["serviceArns"]
        if arns:
            described = ecs.describe_services(cluster=cluster["clusterArn"], services=arns)
            services += [s["serviceName"] for s in described["services"] if s["status"] == "ACTIVE"]
    return {
        "vpcs": vpcs,
        "subnets": _ids(ec2.describe_subnets(Filters=in_vpcs)["Subnets"], "SubnetId")
        if in_vpcs else [],
        "route_tables": [t["RouteTableId"] for t in ec2.describe_route_tables(Filters=in_vpcs)[
            "RouteTables"] if not any(a.get("Main") for a in t.get("Associations", []))]
        if in_vpcs else [],
        "internet_gateways": _ids(ec2.describe_internet_gateways()["InternetGateways"],
                                  "InternetGatewayId"),
        "nat_gateways": [n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"]
                         if n["State"] not in ("deleted", "deleting")],
        "elastic_ips": _ids(ec2.describe_addresses()["Addresses"], "AllocationId"),
        "security_groups": [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]
                            if g["GroupName"] != "default"],
        "load_balancers": nlbs,
        "listeners": [x["ListenerArn"] for arn in nlbs
                      for x in elb.describe_listeners(LoadBalancerArn=arn)["Listeners"]],
        "target_groups": _ids(elb.describe_target_groups()["TargetGroups"], "TargetGroupArn"),
        "clusters": [c["clusterName"] for c in clusters],
        "services": services,
        "task_definitions": ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"],
        "log_groups": [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]],
        "roles": [r["RoleName"] for r in iam.list_roles()["Roles"]
                  if r["RoleName"].startswith("gatewayproxy-")],
        "vpc_links": _ids(apigw.get_vpc_links()["items"], "id"),
        "rest_apis": _ids(apigw.get_rest_apis()["items"], "id"),
        **access_inventory(region),
    }


def access_inventory(region: str) -> dict[str, list[str]]:
    """What API access adds: usage plans, API keys, v2 links, Lambda permissions, autoscaling."""
    apigw = _client("apigateway", region)
    scaling = _client("application-autoscaling", region)
    return {
        "usage_plans": _ids(apigw.get_usage_plans()["items"], "id"),
        "api_keys": _ids(apigw.get_api_keys()["items"], "id"),
        "vpc_links_v2": _ids(_client("apigatewayv2", region).get_vpc_links()["Items"], "VpcLinkId"),
        "lambda_permissions": lambda_permissions(region),
        "scalable_targets": _ids(scaling.describe_scalable_targets(ServiceNamespace="ecs")[
            "ScalableTargets"], "ResourceId"),
    }


def lambda_permissions(region: str) -> list[str]:
    """`function:statement id` of every gatewayproxy statement in any function's policy."""
    client = _client("lambda", region)
    found: list[str] = []
    for function in client.list_functions()["Functions"]:
        try:
            policy = json.loads(client.get_policy(FunctionName=function["FunctionName"])["Policy"])
        except client.exceptions.ResourceNotFoundException:
            continue
        found += [f"{function['FunctionName']}:{s['Sid']}" for s in policy.get("Statement", [])
                  if s.get("Sid", "").startswith("gatewayproxy-")]
    return found


def counts(region: str) -> Counter[str]:
    """How many of each kind exist; kinds with none are left out (the base stack has no usage
    plan, API key, v2 link, Lambda permission or scalable target)."""
    return Counter({kind: len(items) for kind, items in inventory(region).items() if items})


def _ids(items: list[dict[str, Any]], key: str) -> list[str]:
    return [item[key] for item in items]
