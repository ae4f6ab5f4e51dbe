"""`network.nat`: each mode's resources and routes in the sandbox, the switches both ways
(the new way out exists before the old one goes), `down` leaving nothing, and the ECR check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import CONFIG, REGION, Call, stack_session, writes

from gatewayproxy.aws import Aws
from gatewayproxy.config import subnet_cidrs
from gatewayproxy.engine import Engine
from gatewayproxy.errors import ConfigError
from gatewayproxy.state import State

ECR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/quiz:1.0"


def config(nat: str, image: str = ECR_IMAGE, extra: str = "") -> str:
    text = CONFIG.replace('image = "public.ecr.aws/nginx/nginx:1.27"', f'image = "{image}"')
    return text.replace('[api]', f'[network]\nnat = "{nat}"\n{extra}\n[api]')


@pytest.fixture
def network_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack cut to its three network steps (fast; the service has its own tests)."""
    from gatewayproxy import steps
    from gatewayproxy.steps import cluster, nat_gateway, private_subnet
    monkeypatch.setattr(steps, "ORDER", (cluster, private_subnet, nat_gateway))
    monkeypatch.setattr(steps, "NAMES", ("cluster", "private_subnet", "nat_gateway"))


def engine(state_path: Path, aws: Aws, text: str) -> Engine:
    return stack_session(state_path, aws, text).engine(sequential=True)


def ec2() -> Any:
    return boto3.client("ec2", region_name=REGION)


def live_endpoints() -> list[dict[str, Any]]:
    return [e for e in ec2().describe_vpc_endpoints()["VpcEndpoints"] if e["State"] != "deleted"]


def live_nats() -> list[dict[str, Any]]:
    return [n for n in ec2().describe_nat_gateways()["NatGateways"]
            if n["State"] not in ("deleted", "deleting")]


def private_tables(state_path: Path) -> list[dict[str, Any]]:
    recorded = json.loads(state_path.read_text())["steps"]["private_subnet"]["resources"]
    ids = [recorded["private_route_table_0"], recorded["private_route_table_1"]]
    return sorted(ec2().describe_route_tables(RouteTableIds=ids)["RouteTables"],
                  key=lambda t: ids.index(t["RouteTableId"]))


def default_targets(state_path: Path) -> list[str | None]:
    return [next((r.get("NatGatewayId") for r in t["Routes"]
                  if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None)
            for t in private_tables(state_path)]


def nothing_left() -> dict[str, Any]:
    left = {"endpoints": live_endpoints(), "nats": live_nats(),
            "addresses": ec2().describe_addresses()["Addresses"],
            "groups": [g for g in ec2().describe_security_groups()["SecurityGroups"]
                       if g["GroupName"] != "default"],
            "vpcs": [v for v in ec2().describe_vpcs()["Vpcs"] if not v.get("IsDefault")]}
    return {k: v for k, v in left.items() if v}


def recorded(state_path: Path) -> dict[str, Any]:
    return dict(json.loads(state_path.read_text())["steps"]["nat_gateway"]["resources"])


def operations(recorded_calls: list[Call]) -> list[str]:
    return [c.operation for c in recorded_calls]


def test_per_zone_routes_each_zone_to_its_own_nat_and_down_leaves_nothing(
        network_only: None, aws: Aws, tmp_path: Path, calls: list[Call]) -> None:
    state_path = tmp_path / "stack.state.json"
    engine(state_path, aws, config("per_zone")).up()
    keys = recorded(state_path)
    assert {"nat_gateway", "elastic_ip", "nat_gateway_1", "elastic_ip_1"} <= set(keys)
    assert default_targets(state_path) == [keys["nat_gateway"], keys["nat_gateway_1"]]
    subnets = json.loads(state_path.read_text())["steps"]["cluster"]["resources"]
    by_nat = {n["NatGatewayId"]: n["SubnetId"] for n in live_nats()}
    assert by_nat == {keys["nat_gateway"]: subnets["public_subnet_0"],
                      keys["nat_gateway_1"]: subnets["public_subnet_1"]}
    assert len(ec2().describe_addresses()["Addresses"]) == 2
    tokens = [c.params["ClientToken"] for c in calls if c.operation == "create_nat_gateway"]
    assert len(set(tokens)) == 2 and all(len(t) <= 64 for t in tokens)
    assert "client_tokens" not in recorded(state_path)  # settled once the ids were recorded
    [step] = [s for s in engine(state_path, aws, config("per_zone")).status()
              if s.name == "nat_gateway"]
    assert step.summary.startswith("nat = per_zone: ") and step.details["nat"] == "per_zone"
    assert [(n["name"], n["zone"], n["state"]) for n in step.details["nat_gateways"]] == [
        ("quizapi-nat", 0, "available"), ("quizapi-nat-1", 1, "available")]
    engine(state_path, aws, config("per_zone")).down()
    assert nothing_left() == {}


def test_none_makes_endpoints_behind_a_443_only_group_and_no_nat(
        network_only: None, aws: Aws, tmp_path: Path, calls: list[Call]) -> None:
    state_path = tmp_path / "stack.state.json"
    rows = [(r.action, r.kind, r.name) for r in engine(state_path, aws, config("none")).plan()
            if r.step == "nat_gateway"]
    assert rows == [("create", "security group", "gatewayproxy-quizapi-endpoints"),
                    *(("create", "VPC endpoint", f"quizapi-{n}")
                      for n in ("ecr-api", "ecr-dkr", "logs", "s3"))]
    engine(state_path, aws, config("none")).up()
    assert engine(state_path, aws, config("none")).plan() == []
    [step] = [s for s in engine(state_path, aws, config("none")).status()
              if s.name == "nat_gateway"]
    assert step.healthy, step.summary
    assert step.summary.startswith("nat = none: ")
    assert step.details["nat"] == "none" and step.details["nat_gateways"] == []
    assert sorted((e["service"], e["state"]) for e in step.details["vpc_endpoints"]) == [
        ("ecr.api", "available"), ("ecr.dkr", "available"), ("logs", "available"),
        ("s3", "available")]
    assert live_nats() == [] and ec2().describe_addresses()["Addresses"] == []
    assert default_targets(state_path) == [None, None]
    state = json.loads(state_path.read_text())["steps"]
    subnets = sorted(state["private_subnet"]["resources"][f"private_subnet_{i}"] for i in (0, 1))
    group = state["nat_gateway"]["resources"]["endpoint_security_group"]
    created = [c.params for c in calls if c.operation == "create_vpc_endpoint"]
    interface = {p["ServiceName"]: p for p in created if p["VpcEndpointType"] == "Interface"}
    assert sorted(interface) == [f"com.amazonaws.{REGION}.{s}" for s in ("ecr.api", "ecr.dkr",
                                                                        "logs")]
    for params in interface.values():
        assert params["PrivateDnsEnabled"] is True
        assert sorted(params["SubnetIds"]) == subnets and params["SecurityGroupIds"] == [group]
        assert params["ClientToken"] and params["TagSpecifications"][0]["ResourceType"] == \
            "vpc-endpoint"
    [gateway] = [p for p in created if p["VpcEndpointType"] == "Gateway"]
    assert gateway["ServiceName"] == f"com.amazonaws.{REGION}.s3"
    assert sorted(gateway["RouteTableIds"]) == sorted(t["RouteTableId"]
                                                      for t in private_tables(state_path))
    assert {e["State"] for e in live_endpoints()} == {"available"} and len(live_endpoints()) == 4
    [described] = ec2().describe_security_groups(GroupIds=[group])["SecurityGroups"]
    _, private = subnet_cidrs("10.0.0.0/16", 2)
    [ingress] = described["IpPermissions"]
    assert (ingress["IpProtocol"], ingress["FromPort"], ingress["ToPort"]) == ("tcp", 443, 443)
    assert sorted(r["CidrIp"] for r in ingress["IpRanges"]) == sorted(private)
    assert described["IpPermissionsEgress"] == []
    calls.clear()
    engine(state_path, aws, config("none")).up()
    assert writes(calls) == []  # converged: a second up changes nothing
    engine(state_path, aws, config("none")).down()
    assert nothing_left() == {}


def test_secrets_add_the_endpoints_their_arns_name(network_only: None, aws: Aws,
                                                   tmp_path: Path, calls: list[Call],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Config.secrets is parsed by another option; here it is set on the parsed config."""
    import dataclasses

    from gatewayproxy import config as configs
    original = configs.parse

    def with_secrets(raw: Any, path: Any = None) -> Any:
        return dataclasses.replace(original(raw, path), secrets={
            "DB": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"})

    monkeypatch.setattr(configs, "parse", with_secrets)
    state_path = tmp_path / "stack.state.json"
    engine(state_path, aws, config("none")).up()
    names = sorted(c.params["ServiceName"].rsplit(".", 1)[-1] if "ecr" not in
                   c.params["ServiceName"] else c.params["ServiceName"].split(".", 3)[-1]
                   for c in calls if c.operation == "create_vpc_endpoint")
    assert names == ["ecr.api", "ecr.dkr", "logs", "s3", "secretsmanager"]
    engine(state_path, aws, config("none")).down()
    assert nothing_left() == {}


def test_single_to_per_zone_and_back_moves_routes_in_place(
        network_only: None, aws: Aws, tmp_path: Path, calls: list[Call]) -> None:
    state_path = tmp_path / "stack.state.json"
    engine(state_path, aws, config("single")).up()
    before = recorded(state_path)
    calls.clear()
    rows = [(r.action, r.kind, r.name) for r in engine(state_path, aws, config("per_zone")).plan()]
    assert rows == [("create", "Elastic IP", "quizapi-elastic-ip-1"),
                    ("create", "NAT gateway", "quizapi-nat-1"),
                    ("update", "route", "quizapi-private-route-table-1 0.0.0.0/0")]
    engine(state_path, aws, config("per_zone")).up()
    after = recorded(state_path)
    assert after["nat_gateway"] == before["nat_gateway"]  # zone 0's NAT gateway stays
    assert default_targets(state_path) == [after["nat_gateway"], after["nat_gateway_1"]]
    assert writes(calls) == ["ec2.allocate_address", "ec2.create_nat_gateway", "ec2.replace_route"]

    calls.clear()
    engine(state_path, aws, config("single")).up()
    assert default_targets(state_path) == [before["nat_gateway"]] * 2
    # The route moves back (in place) before zone 1's NAT gateway and address go.
    assert writes(calls) == ["ec2.replace_route", "ec2.delete_nat_gateway", "ec2.release_address"]
    assert len(live_nats()) == 1 and "nat_gateway_1" not in recorded(state_path)


def test_single_to_none_and_back_keeps_a_way_out_all_along(
        network_only: None, aws: Aws, tmp_path: Path, calls: list[Call]) -> None:
    state_path = tmp_path / "stack.state.json"
    engine(state_path, aws, config("single")).up()
    rows = {(r.action, r.kind, r.name) for r in engine(state_path, aws, config("none")).plan()}
    assert {("create", "VPC endpoint", "quizapi-ecr-api"), ("create", "VPC endpoint", "quizapi-s3"),
            ("delete", "NAT gateway", "quizapi-nat"),
            ("delete", "route", "quizapi-private-route-table-0 0.0.0.0/0")} <= rows
    calls.clear()
    engine(state_path, aws, config("none")).up()
    done = writes(calls)
    last_endpoint = max(i for i, w in enumerate(done) if w == "ec2.create_vpc_endpoint")
    assert last_endpoint < done.index("ec2.delete_route") < done.index("ec2.delete_nat_gateway") \
        < done.index("ec2.release_address")
    assert live_nats() == [] and default_targets(state_path) == [None, None]
    assert "modify_vpc_attribute" not in operations(calls)  # the VPC's DNS was on already
    assert {"describe_vpc_attribute", "describe_vpc_endpoint_services"} <= set(operations(calls))

    calls.clear()
    engine(state_path, aws, config("single")).up()
    done = writes(calls)
    first_endpoint_delete = done.index("ec2.delete_vpc_endpoints")
    assert done.index("ec2.create_nat_gateway") < max(
        i for i, w in enumerate(done) if w == "ec2.create_route") < first_endpoint_delete
    assert done.index("ec2.delete_security_group") > max(
        i for i, w in enumerate(done) if w == "ec2.delete_vpc_endpoints")
    assert live_endpoints() == [] and len(live_nats()) == 1
    assert default_targets(state_path) == [recorded(state_path)["nat_gateway"]] * 2
    engine(state_path, aws, config("single")).down()
    assert nothing_left() == {}


def test_none_refuses_an_image_outside_this_regions_private_ecr_before_any_write(
        network_only: None, aws: Aws, tmp_path: Path, calls: list[Call]) -> None:
    state_path = tmp_path / "stack.state.json"
    image = "public.ecr.aws/nginx/nginx:1.27"
    for command in ("plan", "up"):
        with pytest.raises(ConfigError) as refused:
            getattr(engine(state_path, aws, config("none", image=image)), command)()
        message = str(refused.value)
        assert message.startswith(f"container.image {image!r}: with network.nat = \"none\"")
        assert "123456789012.dkr.ecr.eu-west-1.amazonaws.com/" in message
    assert writes(calls) == []
    assert State.load(state_path, "quizapi").is_empty  # the zones chosen, nothing made
