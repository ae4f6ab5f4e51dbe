"""The network on real AWS terms: stacks kept apart in one account, zones by id, route-table
client tokens, and network changes that need a new network."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import REGION, Call, write_config, writes
from inventory import counts, inventory
from test_lifecycle import EXPECTED

from gatewayproxy.cli import main


def run(*args: str, config: Path) -> Result:
    return CliRunner().invoke(main, [*args, "-c", str(config)], input="", catch_exceptions=False)


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
