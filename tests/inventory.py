"""What exists in the emulated account, by kind: to prove "exactly one of each" and "nothing left"."""

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
