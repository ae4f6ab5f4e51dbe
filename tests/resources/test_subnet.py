"""Subnets: one describe for a family; the family's ids handed on once all exist."""

from __future__ import annotations

from pathlib import Path

from fakes import context

from gatewayproxy.resources import ec2
from gatewayproxy.resources.subnet import PrivateSubnet

KEYS = ("private_subnet_0", "private_subnet_1")


def subnet(i: int, family: ec2.Family) -> PrivateSubnet:
    return PrivateSubnet("private_subnet", KEYS[i], index=i, siblings=KEYS,
                         output="private_subnet.subnets", family=family)


def test_the_list_is_published_once_every_subnet_is_recorded(tmp_path: Path) -> None:
    ctx, _ = context(tmp_path)
    family = ec2.Family(ec2.SUBNET)
    ctx.state.record("private_subnet", KEYS[0], "subnet-0")
    subnet(0, family).publish(ctx, {"SubnetId": "subnet-0"})
    assert ctx.outputs.get("private_subnet.subnets") is None
    ctx.state.record("private_subnet", KEYS[1], "subnet-1")
    subnet(1, family).publish(ctx, {"SubnetId": "subnet-1"})
    assert ctx.outputs.get("private_subnet.subnets") == ["subnet-0", "subnet-1"]


def test_a_family_is_described_once_and_found_by_tag(tmp_path: Path) -> None:
    tagged = [{"SubnetId": f"subnet-{i}", "Tags": [{"Key": "gatewayproxy:resource",
                                                    "Value": f"private-subnet-{i}"}]}
              for i in range(2)]
    ctx, aws = context(tmp_path, {"describe_subnets": {"Subnets": tagged}})
    family = ec2.Family(ec2.SUBNET)
    assert [subnet(i, family).find(ctx)["SubnetId"] for i in range(2)] == [  # type: ignore[index]
        "subnet-0", "subnet-1"]
    assert aws.operations == ["describe_subnets"]


def test_plan_finds_no_subnet_in_a_vpc_not_made_yet(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    ctx.outputs.planning = True
    assert subnet(0, ec2.Family(ec2.SUBNET)).find(ctx) is None
    assert aws.sent == []
