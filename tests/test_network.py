"""The network on real AWS terms: stacks kept apart in one account, zones by id, route-table
client tokens, and network changes that need a new network."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from conftest import CONFIG, REGION, Call, stack_session, write_config, writes
from inventory import counts, inventory
from moto.ec2.models import vpcs
from test_lifecycle import EXPECTED

from gatewayproxy.aws import Aws
from gatewayproxy.cli import main
from gatewayproxy.engine import Engine
from gatewayproxy.state import State
from gatewayproxy.steps.base import RESOURCE_TAG


def run(*args: str, config: Path) -> Result:
    return CliRunner().invoke(main, [*args, "-c", str(config)], input="", catch_exceptions=False)


def state_file(config: Path) -> Path:
    name = tomllib.loads(config.read_text())["stack"]["name"]
    return config.parent / ".gatewayproxy" / f"{name}.state.json"


def stack_config(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return write_config(folder / "gatewayproxy.toml", **{'name = "quizapi"': f'name = "{name}"'})


def test_two_stacks_in_one_account_stay_apart(moto_account: None, tmp_path: Path,
                                              calls: list[Call]) -> None:
    """Bringing one stack down leaves every resource of the other; the other still converges."""
    quiz, other = stack_config(tmp_path, "quizapi"), stack_config(tmp_path, "otherapi")
    assert run("up", config=quiz).exit_code == 0
    before = inventory(REGION)
    assert run("up", config=other).exit_code == 0
    both = inventory(REGION)
    others = {kind: sorted(set(both[kind]) - set(before[kind])) for kind in both}
    assert dict(counts(REGION)) == {kind: 2 * n for kind, n in EXPECTED.items()}

    # Narrow enough that AWS answers the same with or without tag filters (moto ignores them).
    lookups = [c.params["Filter"] for c in calls
               if c.operation == "describe_nat_gateways" and "Filter" in c.params]
    assert lookups and all(any(f["Name"] == "vpc-id" for f in filters) for filters in lookups)

    assert run("down", "--yes", config=quiz).exit_code == 0
    assert {kind: sorted(items) for kind, items in inventory(REGION).items()} == others

    calls.clear()
    result = run("up", config=other)
    assert result.exit_code == 0, result.output
    assert writes(calls) == []
    assert dict(counts(REGION)) == EXPECTED
    assert run("down", "--yes", config=other).exit_code == 0
    assert not any(inventory(REGION).values())


def route_table_tokens(recorded: list[Call]) -> list[str]:
    return [c.params["ClientToken"] for c in recorded if c.operation == "create_route_table"]


def engine(state_path: Path, aws: Aws, config: str) -> Engine:
    """A fresh engine and state, as a new process would have, on a shared client layer."""
    return stack_session(state_path, aws, config).engine(sequential=True)


class Crash(BaseException):
    """Stands for SIGKILL right after AWS created the table, before we saw the answer."""


def test_route_table_tokens_are_kept_until_recorded_and_new_for_every_create(
        aws: Aws, tmp_path: Path, calls: list[Call], monkeypatch: pytest.MonkeyPatch) -> None:
    """A token built from the stack name and the VPC id, cut to 64 characters, kept only the
    first characters of the id for a long name: after `down`, `up` could send the old tokens
    again (AWS: IdempotentParameterMismatch, or the deleted table handed back)."""
    # VPC ids that differ in their last characters only, as two real ids may.
    made = iter(range(1, 100))
    monkeypatch.setattr(vpcs, "random_vpc_id", lambda: f"vpc-{next(made):017x}")
    state_path = tmp_path / "stack.state.json"
    config = CONFIG.replace('name = "quizapi"', 'name = "quizapi-production-east"')
    original = Aws.call

    def crash_after_first_table(self: Aws, service: str, operation: str, /, **kw: Any) -> Any:
        result = original(self, service, operation, **kw)
        if operation == "create_route_table" and len(route_table_tokens(calls)) == 1:
            raise Crash(operation)
        return result

    monkeypatch.setattr(Aws, "call", crash_after_first_table)
    with pytest.raises(Crash):
        engine(state_path, aws, config=config).up()
    [sent] = route_table_tokens(calls)
    # The table AWS made is not yet visible to the look-up (eventual consistency): gone here.
    ec2 = boto3.client("ec2", region_name=REGION)
    [table] = [t["RouteTableId"] for t in ec2.describe_route_tables()["RouteTables"]
               if any(tag["Key"] == RESOURCE_TAG for tag in t.get("Tags", []))]
    ec2.delete_route_table(RouteTableId=table)
    monkeypatch.setattr(Aws, "call", original)
    calls.clear()
    engine(state_path, aws, config=config).up()
    first = route_table_tokens(calls)
    assert first[0] == sent  # the retried create
    state = json.loads(state_path.read_text())["steps"]
    assert all("client_token" not in state[step]["resources"]
               for step in ("cluster", "private_subnet"))

    engine(state_path, aws, config=config).down()
    calls.clear()
    engine(state_path, aws, config=config).up()
    second = route_table_tokens(calls)
    assert len(first) == len(second) == 3
    assert len(set(first + second)) == 6
    assert all(len(token) <= 64 and token.isascii() for token in first + second)


def subnet_zones(recorded: list[Call]) -> list[dict[str, str]]:
    """The zone parameters of every create_subnet sent, in order of zone."""
    return sorted(({k: v for k, v in c.params.items() if k.startswith("AvailabilityZone")}
                   for c in recorded if c.operation == "create_subnet"), key=str)


def in_us_east_1(config: Path, zones: int) -> Path:
    return write_config(config, **{'region = "eu-west-1"': 'region = "us-east-1"',
                                   "[api]": f"[network]\navailability_zones = {zones}\n\n[api]"})


def test_zones_are_chosen_by_id_and_unsupported_ids_are_skipped(
        moto_account: None, config_file: Path, calls: list[Call]) -> None:
    """us-east-1 lists use1-az3 (us-east-1e here), where VPC links v2 are not offered."""
    result = run("up", config=in_us_east_1(config_file, 5))
    assert result.exit_code == 0, result.output
    wanted = ["use1-az1", "use1-az2", "use1-az4", "use1-az5", "use1-az6"]
    assert subnet_zones(calls) == [{"AvailabilityZoneId": z} for z in wanted for _ in "pp"]
    state = json.loads(state_file(config_file).read_text())
    assert state["steps"]["cluster"]["resources"]["availability_zones"] == wanted


def test_too_few_supported_zones_are_refused_before_any_write(
        moto_account: None, config_file: Path, calls: list[Call]) -> None:
    result = run("up", config=in_us_east_1(config_file, 6))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: network.availability_zones = 6, but us-east-1 has 5 available; use1-az3 left "
        "out: no VPC links v2 there"]
    assert writes(calls) == []


def test_a_state_file_with_zone_names_keeps_its_zones(moto_account: None, config_file: Path,
                                                      calls: list[Call]) -> None:
    """State files written before zones were chosen by id hold names: they stay as they are."""
    state = State.load(state_file(config_file), "quizapi")
    state.set_target("123456789012", REGION, None)
    state.record("cluster", "availability_zones", ["eu-west-1a", "eu-west-1b"])
    assert run("up", config=config_file).exit_code == 0
    assert subnet_zones(calls) == [{"AvailabilityZone": "eu-west-1a"}] * 2 + [
        {"AvailabilityZone": "eu-west-1b"}] * 2
    calls.clear()
    assert run("up", config=config_file).exit_code == 0
    assert writes(calls) == []
    recorded = json.loads(state_file(config_file).read_text())["steps"]["cluster"]["resources"]
    assert recorded["availability_zones"] == ["eu-west-1a", "eu-west-1b"]



@pytest.fixture
def network_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack cut to its three network steps (fast; the others have their own tests)."""
    from gatewayproxy import steps
    from gatewayproxy.steps import cluster, nat_gateway, private_subnet
    monkeypatch.setattr(steps, "ORDER", (cluster, private_subnet, nat_gateway))
    monkeypatch.setattr(steps, "NAMES", ("cluster", "private_subnet", "nat_gateway"))


def planned(state_path: Path, aws: Aws) -> list[tuple[str, str, str]]:
    return [(r.action, r.kind, r.name) for r in engine(state_path, aws, CONFIG).plan()]


def test_plan_lists_each_network_resource_and_a_no_op_up_none(
        network_only: None, aws: Aws, tmp_path: Path, calls: list[Call]) -> None:
    state_path = tmp_path / "stack.state.json"
    assert planned(state_path, aws) == [("create", kind, name) for kind, name in [
        ("VPC", "quizapi-vpc"), ("internet gateway", "quizapi-internet-gateway"),
        ("public subnet", "quizapi-public-subnet-0"), ("public subnet", "quizapi-public-subnet-1"),
        ("public route table", "quizapi-public-route-table"),
        ("route", "quizapi-public-route-table 0.0.0.0/0"),
        ("ECS cluster", "gatewayproxy-quizapi-cluster"),
        ("private subnet", "quizapi-private-subnet-0"),
        ("private route table", "quizapi-private-route-table-0"),
        ("private subnet", "quizapi-private-subnet-1"),
        ("private route table", "quizapi-private-route-table-1"),
        ("Elastic IP", "quizapi-elastic-ip"), ("NAT gateway", "quizapi-nat"),
        ("route", "quizapi-private-route-table-0 0.0.0.0/0"),
        ("route", "quizapi-private-route-table-1 0.0.0.0/0")]]
    assert writes(calls) == []
    engine(state_path, aws, CONFIG).up()
    assert planned(state_path, aws) == []
    calls.clear()
    engine(state_path, aws, CONFIG).up()
    assert writes(calls) == []


def test_a_failed_nat_gateway_is_planned_as_replaced_and_replaced_by_up(
        network_only: None, aws: Aws, tmp_path: Path, calls: list[Call]) -> None:
    state_path = tmp_path / "stack.state.json"
    engine(state_path, aws, CONFIG).up()
    nat_id = json.loads(state_path.read_text())["steps"]["nat_gateway"]["resources"]["nat_gateway"]
    from moto.backends import get_backend
    backend = get_backend("ec2")["123456789012"][REGION]
    backend.nat_gateways[nat_id].state = "failed"
    # AWS's DeleteNatGateway lets the address go (its API reference); moto's keeps it.
    for address in backend.addresses:
        address.eni = address.association_id = None
    assert ("replace", "NAT gateway", "quizapi-nat") in planned(state_path, aws)
    calls.clear()
    engine(state_path, aws, CONFIG).up()
    assert [c.operation for c in calls if c.operation.endswith("_nat_gateway")] == [
        "delete_nat_gateway", "create_nat_gateway"]
    ec2 = boto3.client("ec2", region_name=REGION)
    [fresh] = ec2.describe_nat_gateways(
        Filters=[{"Name": "state", "Values": ["available"]}])["NatGateways"]
    assert fresh["NatGatewayId"] != nat_id
    routes = [r for t in ec2.describe_route_tables()["RouteTables"] for r in t["Routes"]
              if r.get("NatGatewayId")]
    assert len(routes) == 2 and all(r["NatGatewayId"] == fresh["NatGatewayId"] for r in routes)
