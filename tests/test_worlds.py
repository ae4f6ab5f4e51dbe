"""The crash tests' captured worlds (tests/worlds.py): a restore puts the account and the files
back as captured, drops what came after, and can be done again."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from conftest import REGION
from worlds import capture, restore


def vpcs() -> list[str]:
    return sorted(v["CidrBlock"] for v in boto3.client("ec2", region_name=REGION)
                  .describe_vpcs()["Vpcs"] if not v.get("IsDefault"))


@pytest.mark.e2e
def test_a_restore_brings_back_the_account_and_files_as_captured(moto_account: None,
                                                                 tmp_path: Path) -> None:
    ec2 = boto3.client("ec2", region_name=REGION)
    state = tmp_path / "state" / "stack.state.json"
    state.parent.mkdir()
    state.write_text("one")
    ec2.create_vpc(CidrBlock="10.1.0.0/16")
    first = capture(tmp_path)

    ec2.create_vpc(CidrBlock="10.2.0.0/16")
    boto3.client("ecr", region_name="us-west-2").create_repository(repositoryName="later")
    state.write_text("two")
    (tmp_path / "state" / "later.json").write_text("made after the capture")
    second = capture(tmp_path)

    restore(first)
    assert vpcs() == ["10.1.0.0/16"]
    assert boto3.client("ecr", region_name="us-west-2").describe_repositories()[
        "repositories"] == []  # a backend built after the capture is dropped
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["stack.state.json"]
    assert state.read_text() == "one"

    ec2.create_vpc(CidrBlock="10.3.0.0/16")  # a restored world changes as any other
    restore(second)
    assert vpcs() == ["10.1.0.0/16", "10.2.0.0/16"]
    assert state.read_text() == "two"
    restore(first)  # the same world, again
    assert vpcs() == ["10.1.0.0/16"]


@pytest.mark.e2e
def test_a_world_restored_into_another_folder_brings_its_files_there(moto_account: None,
                                                                     tmp_path: Path) -> None:
    made, other = tmp_path / "made", tmp_path / "other"
    (made / ".gatewayproxy").mkdir(parents=True)
    (made / ".gatewayproxy" / "stack.state.json").write_text("made")
    boto3.client("ec2", region_name=REGION).create_vpc(CidrBlock="10.1.0.0/16")
    world = capture(made)
    boto3.client("ec2", region_name=REGION).create_vpc(CidrBlock="10.2.0.0/16")
    other.mkdir()
    (other / "gatewayproxy.toml").write_text("the test's own")

    restore(world, other, prune=False)
    assert vpcs() == ["10.1.0.0/16"]
    assert (other / ".gatewayproxy" / "stack.state.json").read_text() == "made"
    assert (other / "gatewayproxy.toml").read_text() == "the test's own"  # left alone
    restore(world, other)  # pruned: only what was captured
    assert sorted(p.name for p in other.rglob("*") if p.is_file()) == ["stack.state.json"]
