"""The internet gateway: detached before it is deleted; an unattached one is a change."""

from __future__ import annotations

from pathlib import Path

from fakes import context

from gatewayproxy.resources.internet_gateway import InternetGateway


def test_delete_detaches_first(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path, {"describe_internet_gateways": {"InternetGateways": []}})
    igw = {"InternetGatewayId": "igw-1", "Attachments": [{"VpcId": "vpc-1"}]}
    InternetGateway("cluster", "internet_gateway").delete(ctx, igw)
    assert [op for op in aws.operations if not op.startswith("describe")] == [
        "detach_internet_gateway", "delete_internet_gateway"]


def test_an_unattached_gateway_is_attached_by_update(tmp_path: Path) -> None:
    ctx, aws = context(tmp_path)
    ctx.outputs.publish("cluster.vpc_id", "vpc-1")
    gateway = InternetGateway("cluster", "internet_gateway")
    [change] = gateway.diff(ctx, {"InternetGatewayId": "igw-1", "Attachments": []})
    assert (change.field, change.new) == ("vpc", "vpc-1")
    gateway.update(ctx, {"InternetGatewayId": "igw-1"}, [change])
    assert aws.operations == ["attach_internet_gateway"]
