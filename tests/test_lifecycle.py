"""The whole product through the real CLI entry point: up -> status -> up (no change) -> down."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from conftest import REGION, Call, writes
from crashes import unaccounted
from inventory import counts, inventory

from gatewayproxy.cli import main
from gatewayproxy.steps import NAMES

# One of each per stack (two zones: two public and two private subnets and route tables; two log
# groups: the container's and the API's access logs).
EXPECTED = {
    "vpcs": 1, "subnets": 4, "route_tables": 3, "internet_gateways": 1, "nat_gateways": 1,
    "elastic_ips": 1, "security_groups": 2, "load_balancers": 1, "listeners": 1,
    "target_groups": 1, "clusters": 1, "services": 1, "task_definitions": 1, "log_groups": 2,
    "roles": 1, "vpc_links_v2": 1, "rest_apis": 1,
}  # the default VPC link (v2) brings its own security group


def run(*args: str, config: Path, input: str | None = None) -> Result:
    return CliRunner().invoke(main, [*args, "-c", str(config)], input=input,
                              catch_exceptions=False)


def test_up_status_noop_down(moto_account: None, config_file: Path, calls: list[Call],
                             probes: list[str]) -> None:
    result = run("up", config=config_file)
    assert result.exit_code == 0, result.output
    api_id = boto3.client("apigateway", region_name=REGION).get_rest_apis()["items"][0]["id"]
    url = f"https://{api_id}.execute-api.{REGION}.amazonaws.com/live"
    lines = result.stdout.strip().splitlines()
    assert lines[-2:] == [f"Invoke URL: {url}", lines[-1]]
    assert lines[-1].startswith("Apply complete: ") and "0 destroyed." in lines[-1]
    assert probes == [url]  # step ten: the invoke URL is asked once the stack is up
    assert dict(counts(REGION)) == EXPECTED

    status = run("status", "--json", config=config_file)
    assert status.exit_code == 0, status.output
    report = json.loads(status.stdout)
    assert [s["name"] for s in report["steps"]] == list(NAMES)
    assert all(s["done"] and s["healthy"] for s in report["steps"]), report
    assert report["invoke_url"].startswith(f"https://{api_id}.execute-api.")
    assert report["target"] == {"account_id": "123456789012", "region": REGION,
                                "endpoint_url": None}

    calls.clear()
    again = run("up", config=config_file)
    assert again.exit_code == 0, again.output
    assert writes(calls) == []
    assert again.stdout.strip().splitlines()[-1] == \
        "Apply complete: 0 added, 0 changed, 0 replaced, 0 destroyed."
    assert dict(counts(REGION)) == EXPECTED

    down = run("down", "--yes", config=config_file)
    assert down.exit_code == 0, down.output
    assert down.stdout.strip().splitlines()[-1].startswith("Destroy complete: ")
    assert all(not items for items in inventory(REGION).values()), inventory(REGION)
    assert not (config_file.parent / ".gatewayproxy" / "quizapi.state.json").exists()


def test_state_file_records_every_resource_and_no_secret(moto_account: None,
                                                         config_file: Path) -> None:
    assert run("up", config=config_file).exit_code == 0
    path = config_file.parent / ".gatewayproxy" / "quizapi.state.json"
    assert path.stat().st_mode & 0o777 == 0o600
    state = json.loads(path.read_text())
    assert state["version"] == 1 and state["stack"] == "quizapi"
    assert all(state["steps"][name]["done"] for name in NAMES)
    found = inventory(REGION)
    recorded = json.dumps(state)
    for kind in ("vpcs", "subnets", "internet_gateways", "nat_gateways", "elastic_ips",
                 "security_groups", "load_balancers", "listeners", "target_groups",
                 "vpc_links", "rest_apis"):
        for resource_id in found[kind]:
            assert resource_id in recorded, (kind, resource_id)
    assert "testing" not in recorded  # the access key and secret never land in the state


def test_down_refuses_without_yes_when_not_a_terminal(moto_account: None,
                                                      config_file: Path) -> None:
    assert run("up", config=config_file).exit_code == 0
    result = run("down", config=config_file, input="")
    assert result.exit_code == 1
    assert "--yes" in result.output
    assert dict(counts(REGION)) == EXPECTED


def test_every_taggable_resource_carries_the_stack_tag(moto_account: None,
                                                       config_file: Path) -> None:
    assert run("up", config=config_file).exit_code == 0
    ec2 = boto3.client("ec2", region_name=REGION)
    stack_filter = [{"Name": "tag:gatewayproxy:stack", "Values": ["quizapi"]}]
    found = inventory(REGION)
    assert len(ec2.describe_vpcs(Filters=stack_filter)["Vpcs"]) == len(found["vpcs"])
    assert len(ec2.describe_subnets(Filters=stack_filter)["Subnets"]) == len(found["subnets"])
    assert len(ec2.describe_nat_gateways(Filter=stack_filter)["NatGateways"]) == 1
    assert len(ec2.describe_addresses(Filters=stack_filter)["Addresses"]) == 1
    assert len(ec2.describe_security_groups(Filters=stack_filter)["SecurityGroups"]) == 2
    assert len(ec2.describe_internet_gateways(Filters=stack_filter)["InternetGateways"]) == 1
    assert len(ec2.describe_route_tables(Filters=stack_filter)["RouteTables"]) == 3
    elb = boto3.client("elbv2", region_name=REGION)
    arns = found["load_balancers"] + found["target_groups"] + found["listeners"]
    for description in elb.describe_tags(ResourceArns=arns)["TagDescriptions"]:
        tags = {t["Key"]: t["Value"] for t in description["Tags"]}
        assert tags["gatewayproxy:stack"] == "quizapi", description
        assert tags["gatewayproxy:step"] in NAMES
    apigw = boto3.client("apigateway", region_name=REGION)
    assert apigw.get_rest_apis()["items"][0]["tags"]["gatewayproxy:stack"] == "quizapi"
    links_v2 = boto3.client("apigatewayv2", region_name=REGION).get_vpc_links()["Items"]
    assert links_v2[0]["Tags"]["gatewayproxy:step"] == "vpc_link"  # the default v2 link
    ecs = boto3.client("ecs", region_name=REGION)
    for arn in [*ecs.list_clusters()["clusterArns"], *found["task_definitions"]]:
        tags = {t["key"]: t["value"] for t in ecs.list_tags_for_resource(resourceArn=arn)["tags"]}
        assert tags["gatewayproxy:stack"] == "quizapi", arn
    iam = boto3.client("iam", region_name=REGION)
    role_tags = iam.list_role_tags(RoleName=found["roles"][0])["Tags"]
    assert {"Key": "gatewayproxy:stack", "Value": "quizapi"} in role_tags


def test_resume_after_a_step_failed_half_way(moto_account: None, config_file: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from gatewayproxy.aws import Aws

    original = Aws.call
    failures = {"create_vpc_link": 1}

    def flaky(self: Aws, service: str, operation: str, /, **kwargs: Any) -> Any:
        if failures.get(operation):
            failures[operation] -= 1
            from gatewayproxy.errors import AwsError
            raise AwsError("CreateVpcLink", "BadRequestException", "injected failure")
        return original(self, service, operation, **kwargs)

    monkeypatch.setattr(Aws, "call", flaky)
    first = run("up", config=config_file)
    assert first.exit_code == 1
    message = first.output.strip().splitlines()[-1]
    assert "step vpc_link failed" in message and "BadRequestException" in message
    assert "gatewayproxy up" in message and "Traceback" not in first.output
    state_path = config_file.parent / ".gatewayproxy" / "quizapi.state.json"
    state = json.loads(state_path.read_text())
    # Everything made so far is in the state. (Which steps got that far is a race: the v2 link
    # starts with the private subnets, beside the NLB.)
    assert state["steps"]["private_subnet"]["resources"]
    assert unaccounted(state_path, REGION) == {}
    assert not state["steps"].get("rest_api", {}).get("resources")

    second = run("up", config=config_file)
    assert second.exit_code == 0, second.output
    assert dict(counts(REGION)) == EXPECTED


def test_foreign_resources_are_never_adopted_or_deleted(moto_account: None,
                                                        config_file: Path) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    apigw = boto3.client("apigateway", region_name=REGION)
    other = [{"ResourceType": "vpc", "Tags": [{"Key": "gatewayproxy:stack", "Value": "other"},
                                              {"Key": "gatewayproxy:resource", "Value": "vpc"}]}]
    foreign_vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=other)["Vpc"]["VpcId"]
    untagged_vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    same_name_api = apigw.create_rest_api(name="gatewayproxy-quizapi-api")["id"]
    foreign_link = apigw.create_vpc_link(name="gatewayproxy-quizapi-link",
                                         targetArns=["arn:aws:elasticloadbalancing:x"])["id"]

    assert run("up", config=config_file).exit_code == 0
    state = json.loads((config_file.parent / ".gatewayproxy" / "quizapi.state.json").read_text())
    assert state["steps"]["cluster"]["resources"]["vpc_id"] not in (foreign_vpc, untagged_vpc)
    assert state["steps"]["rest_api"]["resources"]["rest_api_id"] != same_name_api
    assert state["steps"]["vpc_link"]["resources"]["vpc_link_v2_id"] != foreign_link

    assert run("down", "--yes", config=config_file).exit_code == 0
    left = inventory(REGION)
    assert sorted(left["vpcs"]) == sorted([foreign_vpc, untagged_vpc])
    assert left["rest_apis"] == [same_name_api]
    assert left["vpc_links"] == [foreign_link]


def test_a_foreign_load_balancer_with_our_name_is_refused(moto_account: None,
                                                          config_file: Path) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.0.0/24",
                               AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    boto3.client("elbv2", region_name=REGION).create_load_balancer(
        Name="quizapi-nlb", Subnets=[subnet], Type="network", Scheme="internal")
    result = run("up", config=config_file)
    assert result.exit_code == 1
    assert "quizapi-nlb exists but is not stack quizapi's" in result.output
    assert len(inventory(REGION)["load_balancers"]) == 1
