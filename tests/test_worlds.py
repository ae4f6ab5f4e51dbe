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
