"""Issue 11's container options end to end on moto: secrets from Secrets Manager and SSM, registry
credentials, ARM64 and Fargate Spot come up, show in status, converge when changed or removed,
and go with `down`; nothing but names and ARNs ever reaches the output or the state."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from access_fixtures import run
from conftest import CONFIG, REGION, Call, writes
from inventory import counts, inventory
from test_lifecycle import EXPECTED

VALUE = "s3cr3t-value-never-read"


def make_secrets() -> dict[str, str]:
    """A secret (JSON), a parameter and registry credentials of the user's, in the account."""
    sm = boto3.client("secretsmanager", region_name=REGION)
    db = sm.create_secret(Name="quiz/db", SecretString=json.dumps({"password": VALUE}))["ARN"]
    hub = sm.create_secret(Name="dockerhub", SecretString=json.dumps(
        {"username": "u", "password": VALUE}))["ARN"]
    ssm = boto3.client("ssm", region_name=REGION)
    ssm.put_parameter(Name="/quiz/token", Value=VALUE, Type="SecureString")
    token = ssm.get_parameter(Name="/quiz/token")["Parameter"]["ARN"]
    return {"db": db, "hub": hub, "token": token}


def options(arns: dict[str, str], capacity: str = "spot", architecture: str = "x86_64",
            secrets: bool = True) -> str:
    extra = f'architecture = "{architecture}"\ncapacity = "{capacity}"\n'
    if secrets:
        extra += (f'registry_credentials = "{arns["hub"]}"\n\n[container.secrets]\n'
                  f'DB_PASSWORD = "{arns["db"]}:password::"\nAPI_TOKEN = "{arns["token"]}"\n')
    return CONFIG.replace("\n[api]\n", "\n" + extra + "\n[api]\n", 1)


def sent(calls: list[Call], operation: str) -> list[dict[str, Any]]:
    return [c.params for c in calls if c.operation == operation]


def role_policies() -> list[str]:
    iam = boto3.client("iam", region_name=REGION)
    return [name for role in iam.list_roles()["Roles"]
            if role["RoleName"].startswith("gatewayproxy-")
            for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]]


def up_twice(config: Path, calls: list[Call]) -> str:
    """`up`, then a second `up` that must write nothing; the first one's output."""
    calls.clear()
    first = run("up", config=config)
    assert first.exit_code == 0, first.output
    made = list(calls)
    calls.clear()
    again = run("up", config=config)
    assert again.exit_code == 0, again.output
    assert writes(calls) == [], "a second up wrote"
    calls[:] = made
    return first.output


def test_a_stack_with_every_option_comes_up_shows_and_goes(moto_account: None, tmp_path: Path,
                                                           calls: list[Call]) -> None:
    arns = make_secrets()
    config = tmp_path / "gatewayproxy.toml"
    config.write_text(options(arns))
    output = up_twice(config, calls)
    assert dict(counts(REGION)) == EXPECTED

    (definition,) = sent(calls, "register_task_definition")
    container = definition["containerDefinitions"][0]
    assert container["secrets"] == [{"name": "API_TOKEN", "valueFrom": arns["token"]},
                                    {"name": "DB_PASSWORD", "valueFrom": arns["db"] + ":password::"}]
    assert container["repositoryCredentials"] == {"credentialsParameter": arns["hub"]}
    assert "runtimePlatform" not in definition
    (policy,) = sent(calls, "put_role_policy")
    assert json.loads(policy["PolicyDocument"])["Statement"] == [
        {"Sid": "ReadSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
         "Resource": sorted([arns["db"], arns["hub"]])},
        {"Sid": "ReadParameters", "Effect": "Allow", "Action": ["ssm:GetParameters"],
         "Resource": [arns["token"]]}]
    assert sent(calls, "create_cluster")[0]["capacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    (service,) = sent(calls, "create_service")
    assert service["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    assert "launchType" not in service
    # The policy exists before the service starts tasks that read the secrets.
    order = [c.operation for c in calls]
    assert order.index("put_role_policy") < order.index("create_service")

    status = run("status", "--json", config=config)
    assert status.exit_code == 0, status.output
    steps = {s["name"]: s["details"] for s in json.loads(status.stdout)["steps"]}
    assert steps["task_definition"]["secrets"] == ["API_TOKEN", "DB_PASSWORD"]
    assert steps["task_definition"]["architecture"] == "x86_64"
    assert steps["task_definition"]["registry_credentials"] is True
    assert steps["service"]["capacity"] == "spot"
    assert steps["cluster"]["capacity_providers"] == ["FARGATE", "FARGATE_SPOT"]

    # gatewayproxy never reads a value: only ECS does, when a task starts.
    assert not [c for c in calls if c.service in ("secretsmanager", "ssm")]
    state = (tmp_path / ".gatewayproxy" / "quizapi.state.json").read_text()
    for text in (output, status.output, state):
        assert VALUE not in text

    down = run("down", "--yes", config=config)
    assert down.exit_code == 0, down.output
    assert not any(inventory(REGION).values())
    assert role_policies() == []


def test_each_option_converges_when_changed_or_removed(moto_account: None, tmp_path: Path,
                                                       calls: list[Call]) -> None:
    arns = make_secrets()
    config = tmp_path / "gatewayproxy.toml"
    config.write_text(CONFIG)
    up_twice(config, calls)

    # An existing on-demand stack takes every option: providers, policy, revision, strategy.
    config.write_text(options(arns, capacity="mixed"))
    plan = run("plan", config=config)
    assert "    capacity: on_demand -> mixed" in plan.stdout
    assert "    capacity providers: [] -> FARGATE, FARGATE_SPOT" in plan.stdout
    assert "+ IAM role policy  gatewayproxy-quizapi-eu-west-1-execution/gatewayproxy-secrets" \
        in plan.stdout
    assert "    secrets: [] -> added API_TOKEN, DB_PASSWORD" in plan.stdout
    assert VALUE not in plan.output
    up_twice(config, calls)
    order = [c.operation for c in calls]
    assert order.index("put_cluster_capacity_providers") < order.index("update_service")
    assert order.index("put_role_policy") < order.index("update_service")
    (update,) = sent(calls, "update_service")
    assert update["capacityProviderStrategy"] == [
        {"capacityProvider": "FARGATE", "base": 1, "weight": 0},
        {"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    assert update["forceNewDeployment"] is True

    # Back to on_demand from a strategy: FARGATE weight 1, the providers stay.
    config.write_text(options(arns, capacity="on_demand"))
    assert "    capacity: mixed -> on_demand" in run("plan", config=config).stdout
    up_twice(config, calls)
    (update,) = sent(calls, "update_service")
    assert update["capacityProviderStrategy"] == [{"capacityProvider": "FARGATE", "weight": 1}]
    assert update["forceNewDeployment"] is True

    # Secrets and credentials removed, arm64: the policy goes, a new revision runs on ARM64.
    config.write_text(options(arns, capacity="on_demand", architecture="arm64", secrets=False))
    plan = run("plan", config=config).stdout
    assert "- IAM role policy  gatewayproxy-quizapi-eu-west-1-execution/gatewayproxy-secrets" in plan
    assert "    architecture: x86_64 -> arm64" in plan
    up_twice(config, calls)
    assert len(sent(calls, "delete_role_policy")) == 1
    (definition,) = sent(calls, "register_task_definition")
    assert definition["runtimePlatform"] == {"cpuArchitecture": "ARM64",
                                             "operatingSystemFamily": "LINUX"}
    assert "secrets" not in definition["containerDefinitions"][0]
    assert role_policies() == []
    assert run("down", "--yes", config=config).exit_code == 0
    assert not any(inventory(REGION).values())


@pytest.mark.parametrize(("name", "region", "key"), [
    ("db", "us-east-1", "container.secrets.DB_PASSWORD"),
    ("hub", "eu-central-1", "container.registry_credentials"),
])
def test_a_secret_in_another_region_stops_up_before_any_write(
        moto_account: None, tmp_path: Path, calls: list[Call], name: str, region: str,
        key: str) -> None:
    arns = make_secrets()
    arns[name] = arns[name].replace(REGION, region)
    config = tmp_path / "gatewayproxy.toml"
    config.write_text(options(arns))
    for command in ("plan", "up"):
        calls.clear()
        result = run(command, config=config)
        assert result.exit_code != 0
        assert result.stderr.strip().splitlines() == [
            f"Error: {key}: the ARN is in {region}, the stack in {REGION}; use a secret of the "
            "stack's region"]
        assert writes(calls) == []
    assert not any(inventory(REGION).values())


def test_the_sandbox_keeps_a_strategy_and_refuses_what_aws_refuses(moto_account: None) -> None:
    """The emulator's ECS: a service's strategy is kept (no launch type with it); a strategy
    with a launch type, or with a provider the cluster lacks, is refused as on AWS."""
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(VpcId=vpc, GroupName="g", Description="d")["GroupId"]
    ecs = boto3.client("ecs", region_name=REGION)
    ecs.create_cluster(clusterName="plain")
    ecs.create_cluster(clusterName="spot", capacityProviders=["FARGATE", "FARGATE_SPOT"])
    ecs.register_task_definition(family="f", cpu="256", memory="512",
                                 containerDefinitions=[{"name": "app", "image": "x"}])
    spot = [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
    base = {"serviceName": "s", "taskDefinition": "f", "desiredCount": 1,
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": [subnet],
                                                             "securityGroups": [group]}}}
    for cluster, extra in (("spot", {"launchType": "FARGATE"}), ("plain", {})):
        with pytest.raises(ecs.exceptions.InvalidParameterException):
            ecs.create_service(cluster=cluster, capacityProviderStrategy=spot, **base, **extra)
    made = ecs.create_service(cluster="spot", capacityProviderStrategy=spot, **base)["service"]
    assert made["capacityProviderStrategy"] == spot and "launchType" not in made
    ecs.create_service(cluster="plain", launchType="FARGATE", **base)
    with pytest.raises(ecs.exceptions.InvalidParameterException):
        ecs.update_service(cluster="plain", service="s", capacityProviderStrategy=spot,
                           forceNewDeployment=True)
    moved = ecs.update_service(cluster="spot", service="s", forceNewDeployment=True,
                               capacityProviderStrategy=[{"capacityProvider": "FARGATE",
                                                          "weight": 1}])["service"]
    assert moved["capacityProviderStrategy"][0]["capacityProvider"] == "FARGATE"
    assert "launchType" not in moved
