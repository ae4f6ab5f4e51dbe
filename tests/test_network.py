"""The network on real AWS terms: stacks kept apart in one account, zones by id, route-table
client tokens, and network changes that need a new network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result
from conftest import REGION, Call, write_config, writes
from inventory import counts, inventory
from test_crash_safety import engine
from moto.ec2.models import vpcs
from test_lifecycle import EXPECTED

from gatewayproxy.aws import Aws
from gatewayproxy.cli import main
from gatewayproxy.steps.base import RESOURCE_TAG


def run(*args: str, config: Path) -> Result:
    return CliRunner().invoke(main, [*args, "-c", str(config)], input="", catch_exceptions=False)


def state_file(config: Path) -> Path:
    name = config.parent.name
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

    assert run("down", "--yes", config=quiz).exit_code == 0
    assert {kind: sorted(items) for kind, items in inventory(REGION).items()} == others

    calls.clear()
    result = run("up", config=other)
    assert result.exit_code == 0, result.output
    assert writes(calls) == []
    assert dict(counts(REGION)) == EXPECTED
    assert run("down", "--yes", config=other).exit_code == 0
    assert not any(inventory(REGION).values())


def test_the_nat_gateway_is_looked_up_in_the_stack_vpc(moto_account: None, config_file: Path,
                                                       calls: list[Call]) -> None:
    """Narrow enough that AWS answers the same with or without tag filters."""
    assert run("up", config=config_file).exit_code == 0
    vpc_id = inventory(REGION)["vpcs"][0]
    lookups = [c.params["Filter"] for c in calls
               if c.operation == "describe_nat_gateways" and "Filter" in c.params]
    assert lookups
    assert all({"Name": "vpc-id", "Values": [vpc_id]} in f for f in lookups), lookups


def route_table_tokens(recorded: list[Call]) -> list[str]:
    return [c.params["ClientToken"] for c in recorded if c.operation == "create_route_table"]


def test_route_table_tokens_are_new_for_every_create(moto_account: None, tmp_path: Path,
                                                     calls: list[Call],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A token built from the stack name and the VPC id, cut to 64 characters, kept only the
    first characters of the id for a long name: after `down`, `up` could send the old tokens
    again (AWS: IdempotentParameterMismatch, or the deleted table handed back)."""
    # VPC ids that differ in their last characters only, as two real ids may.
    made = iter(range(1, 100))
    monkeypatch.setattr(vpcs, "random_vpc_id", lambda: f"vpc-{next(made):017x}")
    config = stack_config(tmp_path, "quizapi-production-east")
    assert run("up", config=config).exit_code == 0
    first = route_table_tokens(calls)
    state = json.loads(state_file(config).read_text())
    assert all("client_token" not in state["steps"][s]["resources"]
               for s in ("cluster", "private_subnet"))
    assert run("down", "--yes", config=config).exit_code == 0
    calls.clear()
    assert run("up", config=config).exit_code == 0
    second = route_table_tokens(calls)
    assert len(first) == len(second) == 3
    assert len(set(first + second)) == 6
    assert all(len(token) <= 64 and token.isascii() for token in first + second)


class Crash(BaseException):
    """Stands for SIGKILL right after AWS created the table, before we saw the answer."""


def test_a_crash_after_create_route_table_resends_the_same_token(
        aws: Aws, tmp_path: Path, calls: list[Call], monkeypatch: pytest.MonkeyPatch) -> None:
    state_path = tmp_path / "stack.state.json"
    original = Aws.call

    def crash_after_first_table(self: Aws, service: str, operation: str, /, **kw: Any) -> Any:
        result = original(self, service, operation, **kw)
        if operation == "create_route_table" and len(route_table_tokens(calls)) == 1:
            raise Crash(operation)
        return result

    monkeypatch.setattr(Aws, "call", crash_after_first_table)
    with pytest.raises(Crash):
        engine(state_path, aws).up()
    [sent] = route_table_tokens(calls)
    # The table AWS made is not yet visible to the look-up (eventual consistency): gone here.
    ec2 = boto3.client("ec2", region_name=REGION)
    [made] = [t for t in ec2.describe_route_tables()["RouteTables"]
              if any(tag["Key"] == RESOURCE_TAG for tag in t.get("Tags", []))]
    ec2.delete_route_table(RouteTableId=made["RouteTableId"])
    monkeypatch.setattr(Aws, "call", original)
    calls.clear()
    engine(state_path, aws).up()
    assert route_table_tokens(calls)[0] == sent
    assert len(set(route_table_tokens(calls))) == 3
    assert "client_token" not in json.loads(state_path.read_text())["steps"]["cluster"]["resources"]
